/** Short human-readable output for the management commands (with --json the HTTP body is printed instead). */
import { consola } from "consola";

type Cell = string | number | boolean | null | undefined;

const show = (value: Cell): string => (value === null || value === undefined ? "-" : String(value));

/** Prints rows as aligned columns on stdout, or a note when there are none. */
export function printTable<T>(
  rows: readonly T[],
  columns: readonly [header: string, cell: (row: T) => Cell][],
  empty = "No rows.",
): void {
  if (rows.length === 0) {
    consola.info(empty);
    return;
  }
  const cells = [columns.map(([header]) => header), ...rows.map((row) => columns.map(([, cell]) => show(cell(row))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  const lines = cells.map((line) =>
    line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "),
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** Money for humans: USD with up to 6 decimals. */
export const usd = (value: number | null): string => (value === null ? "unlimited" : `$${Number(value.toFixed(6))}`);
