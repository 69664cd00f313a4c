/** What `gateway import otari` reports (its `--json` output). */
import { z } from "zod";

export const IMPORT_TABLES = [
  "budgets",
  "users",
  "api_keys",
  "budget_reset_logs",
  "model_pricing",
  "usage_logs",
] as const;
export type ImportTable = (typeof IMPORT_TABLES)[number];

export const tableCounts = z.object({
  /** Rows read from the source. */
  read: z.number().int(),
  /** Rows written (with --dry-run: that would be written). */
  imported: z.number().int(),
  /** Rows the target already holds, identical: a re-run takes nothing twice. */
  unchanged: z.number().int(),
  /** Rows the target holds with other values: reported, the target's kept. */
  conflicts: z.number().int(),
  /** Rows that could not be taken (broken, or their parent was not imported). */
  skipped: z.number().int(),
  /** Rows taken with a reference cleared (the parent row is gone from the source, as ON DELETE SET NULL would). */
  adjusted: z.number().int(),
});
export type TableCounts = z.infer<typeof tableCounts>;

export const rowNote = z.object({ table: z.enum(IMPORT_TABLES), id: z.string(), reason: z.string() });
export type RowNote = z.infer<typeof rowNote>;

export const importReport = z.object({
  source: z.string(),
  target: z.string(),
  dry_run: z.boolean(),
  merge: z.boolean(),
  tables: z.record(z.enum(IMPORT_TABLES), tableCounts),
  /** otari's stored master-key hash: imported, already there, kept the target's (conflict), or none in the source. */
  master_key: z.enum(["imported", "unchanged", "conflict", "none"]),
  conflicts: z.array(rowNote),
  skipped: z.array(rowNote),
  adjusted: z.array(rowNote),
  seconds: z.number(),
});
export type ImportReport = z.infer<typeof importReport>;
