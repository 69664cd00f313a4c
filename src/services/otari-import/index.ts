// Over 500 lines on purpose: the steps of one import run share its report; rows, compare and source are split out.
/**
 * `gateway import otari`: copies an otari database (baseline schema) into this gateway's, so users, budgets and
 * their current windows, pricing history and usage come across and every otari key keeps working (same unsalted
 * SHA-256 hash, same id).
 *
 * Atomicity: the management tables (budgets, users, api_keys, budget_reset_logs, model_pricing, plus the master-key
 * hash and this import's marker) are written in ONE transaction, so a failure leaves none of them: never a user
 * without its budget, nor a key without its user. Usage rows follow in batches, one transaction each: a failure
 * keeps whole batches only, and since a user's spend lives on the user row (what the budget ledger enforces), a
 * partial usage history never changes what anyone may spend. Re-running the same import takes only what is not
 * there yet: rows already present and identical are counted `unchanged`, rows present with other values are
 * reported as conflicts and left as the target has them.
 *
 * A target that already holds data is refused unless `merge` is set, or it is this same import being re-run (its
 * marker is in `settings`). With `dryRun` nothing is written (not even the schema); the report says what would be.
 */
import { eq, inArray, sql } from "drizzle-orm";
import { conflict } from "../../core/errors";
import { IMPORT_TABLES, type ImportReport, type ImportTable, type RowNote } from "../../core/schemas/import";
import { toIso } from "../../core/time";
import type { Store } from "../../db/client";
import { currentRevision, migrate } from "../../db/migrate";
import type { ReadOnlyDb } from "../../db/read-only";
import { sha256Hex } from "../../runtime/crypto";
import { createChangeFeed } from "../governance/change-feed";
import { MASTER_KEY_SETTING, storedMasterKeyHash } from "../master-key";
import { insertUsageRows } from "../governance/usage-insert";
import { differingColumns } from "./compare";
import {
  type BudgetRow,
  type Converted,
  convert,
  type KeyRow,
  type PricingRow,
  type ResetLogRow,
  toBudget,
  toKey,
  toPricing,
  toResetLog,
  toUsage,
  toUser,
  type UsageRow,
  type UserRow,
} from "./rows";
import { openOtariSource, type OtariSource } from "./source";

export interface OtariImportOptions {
  source: ReadOnlyDb;
  /** This gateway's database; null for a dry run against one that does not exist yet. */
  target: Store | null;
  /** How the target is named in the report (its URL, password masked). */
  targetDisplay: string;
  dryRun: boolean;
  merge: boolean;
  now?: () => Date;
  /** Called after each usage batch. */
  onProgress?: (table: ImportTable, done: number, total: number) => void;
  /** Usage rows per batch (and per transaction). Default 25 000: fewer, larger commits are what makes SQLite fast. */
  usageBatchRows?: number;
}

/** Rows per multi-row INSERT of the management tables (well under both dialects' bind-parameter limits). */
const INSERT_CHUNK = 500;
/** Ids per `IN (...)` lookup. */
const LOOKUP_CHUNK = 5000;

type Report = ImportReport;

function emptyReport(o: OtariImportOptions, source: string): Report {
  const counts = () => ({ read: 0, imported: 0, unchanged: 0, conflicts: 0, skipped: 0, adjusted: 0 });
  return {
    source,
    target: o.targetDisplay,
    dry_run: o.dryRun,
    merge: o.merge,
    tables: Object.fromEntries(IMPORT_TABLES.map((t) => [t, counts()])) as Report["tables"],
    master_key: "none",
    conflicts: [],
    skipped: [],
    adjusted: [],
    seconds: 0,
  };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** One table's rows being imported: the report's notes and counts, and which rows go in. */
class TablePlan<T extends object> {
  readonly fresh: T[] = [];
  /** Ids of rows that end up in the target (fresh, unchanged or conflicting), for tables other rows point at. */
  readonly present = new Set<string>();
  /** Ids of source rows that could not be taken. */
  readonly skippedIds = new Set<string>();

  constructor(
    private readonly report: Report,
    readonly table: ImportTable,
    /** Usage rows are referenced by nothing: a million of their ids need not be kept. */
    private readonly keepIds = true,
  ) {}

  private note(list: RowNote[], id: string, reason: string) {
    list.push({ table: this.table, id, reason });
  }

  read() {
    this.report.tables[this.table].read++;
  }

  skip(id: string, reason: string) {
    this.skippedIds.add(id);
    this.report.tables[this.table].skipped++;
    this.note(this.report.skipped, id, reason);
  }

  adjust(id: string, reason: string) {
    this.report.tables[this.table].adjusted++;
    this.note(this.report.adjusted, id, reason);
  }

  /** A row the target holds otherwise: reported, the target's kept. */
  conflict(id: string, reason: string) {
    this.report.tables[this.table].conflicts++;
    this.note(this.report.conflicts, id, reason);
  }

  /** Files a converted row: fresh, or compared with the row the target holds under the same id. */
  place(id: string, row: T, existing: T | undefined, fields: readonly (keyof T & string)[]) {
    if (this.keepIds) this.present.add(id);
    if (!existing) {
      this.fresh.push(row);
      this.report.tables[this.table].imported++;
      return;
    }
    const differ = differingColumns(existing, row, fields);
    if (differ.length === 0) this.report.tables[this.table].unchanged++;
    else this.conflict(id, `the target holds other values for ${differ.join(", ")}; kept the target's`);
  }
}

/** Runs `convert`, filing the row as skipped when it cannot be read; returns the row or null. */
function take<T extends object>(
  plan: TablePlan<T>,
  raw: Record<string, unknown>,
  idColumn: string,
  fn: (row: Record<string, unknown>) => T,
): T | null {
  plan.read();
  const result: Converted<T> = convert(fn, raw);
  if (result.ok) return result.row;
  plan.skip(String(raw[idColumn] ?? "(no id)"), result.reason);
  return null;
}

/** Why a row pointing at `parent` (a row of `parentPlan`'s table) cannot be taken. */
function missingParent(parentPlan: TablePlan<object>, what: string, id: string): string {
  return parentPlan.skippedIds.has(id) ? `its ${what} '${id}' was skipped` : `its ${what} '${id}' does not exist`;
}

/** Rows the target holds under the given keys, read in chunks. */
async function existingBy<T>(
  ids: string[],
  fetch: (chunk: string[]) => Promise<T[]>,
  key: (row: T) => string,
): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  for (const chunk of chunks(ids, LOOKUP_CHUNK)) for (const row of await fetch(chunk)) out.set(key(row), row);
  return out;
}

const pricingId = (row: PricingRow) => `${row.modelKey}@${toIso(row.effectiveAt as Date)}`;

interface ManagementPlan {
  budgets: TablePlan<BudgetRow>;
  users: TablePlan<UserRow>;
  keys: TablePlan<KeyRow>;
  resetLogs: TablePlan<ResetLogRow>;
  pricing: TablePlan<PricingRow>;
  masterKey: string | null;
}

/** Reads, converts and compares the management tables (nothing is written here). */
async function planManagement(source: OtariSource, target: Store | null, report: Report): Promise<ManagementPlan> {
  const allIds = async (query: (store: Store) => Promise<{ id: string }[]>) =>
    new Set(target ? (await query(target)).map((r) => r.id) : []);
  const targetBudgets = await allIds(({ db, t }) => db.select({ id: t.budgets.budgetId }).from(t.budgets));
  const targetUsers = await allIds(({ db, t }) => db.select({ id: t.users.userId }).from(t.users));

  const budgets = new TablePlan<BudgetRow>(report, "budgets");
  const budgetRows = (await source.all("budgets")).flatMap((raw) => take(budgets, raw, "budget_id", toBudget) ?? []);
  const existingBudgets = target
    ? await existingBy(
        budgetRows.map((b) => b.budgetId),
        (c) => target.db.select().from(target.t.budgets).where(inArray(target.t.budgets.budgetId, c)),
        (b) => b.budgetId,
      )
    : new Map<string, BudgetRow>();
  for (const row of budgetRows)
    budgets.place(row.budgetId, row, existingBudgets.get(row.budgetId), [
      "maxBudgetMicros",
      "budgetDurationSec",
      "createdAt",
    ]);

  const users = new TablePlan<UserRow>(report, "users");
  const userRows: UserRow[] = [];
  for (const raw of await source.all("users")) {
    const row = take(users, raw, "user_id", toUser);
    if (!row) continue;
    // Without its budget a user would spend without a cap: the user (and so its keys) stays out instead.
    if (row.budgetId && !budgets.present.has(row.budgetId) && !targetBudgets.has(row.budgetId))
      users.skip(row.userId, missingParent(budgets, "budget", row.budgetId));
    else userRows.push(row);
  }
  const existingUsers = target
    ? await existingBy(
        userRows.map((u) => u.userId),
        (c) => target.db.select().from(target.t.users).where(inArray(target.t.users.userId, c)),
        (u) => u.userId,
      )
    : new Map<string, UserRow>();
  const userFields = [
    "alias",
    "spendMicros",
    "budgetId",
    "budgetStartedAt",
    "nextBudgetResetAt",
    "blocked",
    "deletedAt",
    "createdAt",
    "metadata",
  ] as const;
  for (const row of userRows) users.place(row.userId, row, existingUsers.get(row.userId), userFields);
  const userPresent = (id: string) => users.present.has(id) || targetUsers.has(id);

  const keys = new TablePlan<KeyRow>(report, "api_keys");
  const keyRows: KeyRow[] = [];
  for (const raw of await source.all("api_keys")) {
    const row = take(keys, raw, "id", toKey);
    if (!row) continue;
    if (row.userId && !userPresent(row.userId)) keys.skip(row.id, missingParent(users, "user", row.userId));
    else keyRows.push(row);
  }
  const existingKeys = target
    ? await existingBy(
        keyRows.map((k) => k.id),
        (c) => target.db.select().from(target.t.apiKeys).where(inArray(target.t.apiKeys.id, c)),
        (k) => k.id,
      )
    : new Map<string, KeyRow>();
  const sameHash = target
    ? await existingBy(
        keyRows.map((k) => k.keyHash),
        (c) => target.db.select().from(target.t.apiKeys).where(inArray(target.t.apiKeys.keyHash, c)),
        (k) => k.keyHash,
      )
    : new Map<string, KeyRow>();
  for (const row of keyRows) {
    const holder = sameHash.get(row.keyHash);
    if (holder && holder.id !== row.id) {
      keys.conflict(row.id, `its key_hash belongs to the target's key '${holder.id}'; kept the target's`);
      continue;
    }
    keys.place(row.id, row, existingKeys.get(row.id), [
      "keyHash",
      "keyName",
      "userId",
      "createdAt",
      "expiresAt",
      "isActive",
      "metadata",
    ]);
  }

  const resetLogs = new TablePlan<ResetLogRow>(report, "budget_reset_logs");
  const logRows: ResetLogRow[] = [];
  for (const raw of await source.all("budget_reset_logs")) {
    const row = take(resetLogs, raw, "id", toResetLog);
    if (!row) continue;
    const id = String(row.id);
    if (!budgets.present.has(row.budgetId) && !targetBudgets.has(row.budgetId)) {
      resetLogs.skip(id, missingParent(budgets, "budget", row.budgetId));
      continue;
    }
    if (row.userId && !userPresent(row.userId)) {
      resetLogs.adjust(id, `${missingParent(users, "user", row.userId)}: user_id cleared`);
      row.userId = null;
    }
    logRows.push(row);
  }
  const existingLogs = target
    ? await existingBy(
        logRows.map((l) => String(l.id)),
        (c) =>
          target.db
            .select()
            .from(target.t.budgetResetLogs)
            .where(inArray(target.t.budgetResetLogs.id, c.map(Number))),
        (l) => String(l.id),
      )
    : new Map<string, ResetLogRow>();
  for (const row of logRows)
    resetLogs.place(String(row.id), row, existingLogs.get(String(row.id)), [
      "userId",
      "budgetId",
      "previousSpendMicros",
      "resetAt",
      "nextResetAt",
    ]);

  const pricing = new TablePlan<PricingRow>(report, "model_pricing");
  const priceRows = (await source.all("model_pricing")).flatMap(
    (raw) => take(pricing, raw, "model_key", toPricing) ?? [],
  );
  const existingPrices = target
    ? await existingBy(
        [...new Set(priceRows.map((p) => p.modelKey))],
        (c) => target.db.select().from(target.t.modelPricing).where(inArray(target.t.modelPricing.modelKey, c)),
        pricingId,
      )
    : new Map<string, PricingRow>();
  for (const row of priceRows)
    pricing.place(pricingId(row), row, existingPrices.get(pricingId(row)), [
      "inputPricePerMillionMicros",
      "outputPricePerMillionMicros",
    ]);

  const masterKey = await source.masterKeyHash();
  if (masterKey) {
    const stored = target ? await storedMasterKeyHash(target) : null;
    report.master_key = !stored ? "imported" : stored === masterKey ? "unchanged" : "conflict";
  }
  return { budgets, users, keys, resetLogs, pricing, masterKey: report.master_key === "imported" ? masterKey : null };
}

/** Writes the planned management rows, the master-key hash and the import marker in one transaction. */
async function writeManagement(
  store: Store,
  plan: ManagementPlan,
  marker: { key: string; value: string },
  now: Date,
): Promise<void> {
  const { t } = store;
  await store.tx(async (tx) => {
    for (const chunk of chunks(plan.budgets.fresh, INSERT_CHUNK)) await tx.insert(t.budgets).values(chunk);
    for (const chunk of chunks(plan.users.fresh, INSERT_CHUNK)) await tx.insert(t.users).values(chunk);
    for (const chunk of chunks(plan.keys.fresh, INSERT_CHUNK)) await tx.insert(t.apiKeys).values(chunk);
    for (const chunk of chunks(plan.resetLogs.fresh, INSERT_CHUNK)) await tx.insert(t.budgetResetLogs).values(chunk);
    for (const chunk of chunks(plan.pricing.fresh, INSERT_CHUNK)) await tx.insert(t.modelPricing).values(chunk);
    if (plan.masterKey)
      await tx.insert(t.settings).values({ key: MASTER_KEY_SETTING, value: plan.masterKey, updatedAt: now });
    await tx
      .insert(t.settings)
      .values({ key: marker.key, value: marker.value, updatedAt: now })
      .onConflictDoUpdate({ target: t.settings.key, set: { value: marker.value, updatedAt: now } });
    // Reset logs keep otari's ids: move the serial past them so the gateway's own resets do not collide.
    if (store.dialect === "pg" && plan.resetLogs.fresh.length) {
      await tx.execute(
        sql`SELECT setval(pg_get_serial_sequence('budget_reset_logs', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM budget_reset_logs), false)`,
      );
    }
  });
}

/** Copies usage rows batch by batch (each batch one transaction), reading the next page while one is written. */
async function importUsage(
  source: OtariSource,
  target: Store | null,
  o: OtariImportOptions,
  report: Report,
  keysPresent: (id: string) => boolean,
  usersPresent: (id: string) => boolean,
): Promise<void> {
  const plan = new TablePlan<UsageRow>(report, "usage_logs", false);
  const batch = o.usageBatchRows ?? 25_000;
  const total = await source.usageCount();
  const t = target?.t;
  // A target without usage rows cannot hold any of these ids: the per-batch lookup is skipped then.
  const lookUp =
    target !== null &&
    t !== undefined &&
    (await target.db.select({ id: t.usageLogs.id }).from(t.usageLogs).limit(1)).length > 0;
  const fields = [
    "apiKeyId",
    "userId",
    "timestamp",
    "model",
    "provider",
    "endpoint",
    "promptTokens",
    "completionTokens",
    "totalTokens",
    "costMicros",
    "status",
    "errorMessage",
    "cacheReadTokens",
    "cacheWriteTokens",
  ] as const;
  // Rows come in id order but with random timestamps: every batch touches pages all over the timestamp indexes.
  // SQLite then rewrites those pages into the WAL per commit and copies them back per checkpoint; a page cache that
  // holds the indexes (256 MB) and checkpoints every 40 MB instead of 4 MB halve the import's time. This connection only.
  if (target?.dialect === "sqlite" && !o.dryRun)
    await target.exec("PRAGMA cache_size = -262144; PRAGMA wal_autocheckpoint = 10000;");
  // One batch written at a time, while the next is read and converted: a batch's transaction also adds its rows to
  // the hourly rollups, and two such transactions touching the same rollup rows in different orders deadlock.
  const parallel = 1;
  const writing: Promise<void>[] = [];
  let done = 0;
  try {
    let pending = source.usagePage(null, batch);
    for (;;) {
      const page = await pending;
      if (page.length === 0) break;
      const last = page[page.length - 1]?.id;
      pending = page.length < batch ? Promise.resolve([]) : source.usagePage(String(last), batch);
      pending.catch(() => undefined); // awaited on the next turn; a failure of this batch must not leave it unhandled
      const rows: UsageRow[] = [];
      for (const raw of page) {
        const row = take(plan, raw, "id", toUsage);
        if (!row) continue;
        if (row.apiKeyId && !keysPresent(row.apiKeyId)) {
          plan.adjust(row.id, `its key '${row.apiKeyId}' does not exist: api_key_id cleared`);
          row.apiKeyId = null;
        }
        if (row.userId && !usersPresent(row.userId)) {
          plan.adjust(row.id, `its user '${row.userId}' does not exist: user_id cleared`);
          row.userId = null;
        }
        rows.push(row);
      }
      const existing =
        lookUp && target && t
          ? await existingBy(
              rows.map((r) => r.id),
              (c) => target.db.select().from(t.usageLogs).where(inArray(t.usageLogs.id, c)),
              (r) => r.id,
            )
          : new Map<string, UsageRow>();
      const before = plan.fresh.length;
      for (const row of rows) plan.place(row.id, row, existing.get(row.id), fields);
      const fresh = plan.fresh.splice(before);
      if (target && !o.dryRun && fresh.length) {
        const write = target.rawTx((exec) => insertUsageRows(target.dialect, exec, fresh));
        write.catch(() => undefined); // awaited below; a failure must not surface as unhandled meanwhile
        writing.push(write);
        if (writing.length >= parallel) await writing.shift();
      }
      done += page.length;
      o.onProgress?.("usage_logs", done, total);
    }
    await Promise.all(writing);
  } catch (err) {
    // Let the batch still being written finish (commit or roll back) before reporting: no write outlives the call.
    await Promise.allSettled(writing);
    throw err;
  }
}

/** Tables of the target that hold at least one row. */
async function tablesWithRows(store: Store): Promise<ImportTable[]> {
  const { db, t } = store;
  const probes: [ImportTable, () => Promise<unknown[]>][] = [
    ["budgets", () => db.select({ x: t.budgets.budgetId }).from(t.budgets).limit(1)],
    ["users", () => db.select({ x: t.users.userId }).from(t.users).limit(1)],
    ["api_keys", () => db.select({ x: t.apiKeys.id }).from(t.apiKeys).limit(1)],
    ["budget_reset_logs", () => db.select({ x: t.budgetResetLogs.id }).from(t.budgetResetLogs).limit(1)],
    ["model_pricing", () => db.select({ x: t.modelPricing.modelKey }).from(t.modelPricing).limit(1)],
    ["usage_logs", () => db.select({ x: t.usageLogs.id }).from(t.usageLogs).limit(1)],
  ];
  const held: ImportTable[] = [];
  for (const [table, probe] of probes) if ((await probe()).length) held.push(table);
  return held;
}

export async function importOtari(o: OtariImportOptions): Promise<ImportReport> {
  const started = performance.now();
  const now = o.now ?? (() => new Date());
  const source = await openOtariSource(o.source);
  const report = emptyReport(o, source.display);
  let target = o.target;
  if (target && !o.dryRun) await migrate(target);
  // A dry run writes nothing, not even the schema: an unmigrated target is an empty one.
  if (target && o.dryRun && (await currentRevision(target)) === null) target = null;

  const marker = { key: `otari_import:${sha256Hex(source.identity).slice(0, 16)}`, value: "" };
  if (target) {
    const held = await tablesWithRows(target);
    const [rerun] = await target.db.select().from(target.t.settings).where(eq(target.t.settings.key, marker.key));
    if (held.length && !rerun && !o.merge) {
      throw conflict(
        `The target database already holds data (${held.join(", ")}). Import into an empty database, or pass --merge to add otari's rows to it: rows that differ are reported and the target's are kept.`,
        "target_not_empty",
      );
    }
  }

  const plan = await planManagement(source, target, report);
  const startedAt = toIso(now());
  if (target && !o.dryRun) {
    marker.value = JSON.stringify({ source: source.display, started_at: startedAt, finished_at: null });
    await writeManagement(target, plan, marker, now());
  }

  const targetKeys = target
    ? new Set((await target.db.select({ id: target.t.apiKeys.id }).from(target.t.apiKeys)).map((r) => r.id))
    : new Set<string>();
  const targetUsers = target
    ? new Set((await target.db.select({ id: target.t.users.userId }).from(target.t.users)).map((r) => r.id))
    : new Set<string>();
  await importUsage(
    source,
    target,
    o,
    report,
    (id) => plan.keys.present.has(id) || targetKeys.has(id),
    (id) => plan.users.present.has(id) || targetUsers.has(id),
  );

  if (target && !o.dryRun) {
    const { t } = target;
    const value = JSON.stringify({ source: source.display, started_at: startedAt, finished_at: toIso(now()) });
    await target.db.update(t.settings).set({ value, updatedAt: now() }).where(eq(t.settings.key, marker.key));
    // A gateway serving this database reloads its caches (keys, users, budgets, prices) within a poll.
    const feed = createChangeFeed({ store: target });
    const topics = [
      ["keys", plan.keys],
      ["users", plan.users],
      ["budgets", plan.budgets],
      ["pricing", plan.pricing],
    ] as const;
    for (const [topic, table] of topics) if (table.fresh.length) await feed.bump(topic);
  }
  report.seconds = Math.round((performance.now() - started) / 10) / 100;
  return report;
}
