/** `import otari --from URL [--dry-run] [--merge] [--json]`: an otari database into this gateway's (services/otari-import). */
import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import { consola } from "consola";
import type { ImportReport } from "../core/schemas/import";
import { openStore, type Store } from "../db/client";
import { openReadOnly, type ReadOnlyDb } from "../db/read-only";
import { parseDatabaseUrl } from "../db/url";
import { importOtari } from "../services/otari-import";
import { commonArgs, jsonArg } from "./_args";
import { fail, loadCliConfig } from "./_run";
import { printTable } from "./_table";

function printReport(report: ImportReport): void {
  const what = report.dry_run ? "Dry run (nothing written): would import" : "Imported";
  consola.success(`${what} ${report.source} into ${report.target} in ${report.seconds} s`);
  printTable(Object.entries(report.tables), [
    ["TABLE", ([table]) => table],
    ["READ", ([, c]) => c.read],
    [report.dry_run ? "WOULD IMPORT" : "IMPORTED", ([, c]) => c.imported],
    ["UNCHANGED", ([, c]) => c.unchanged],
    ["CONFLICTS", ([, c]) => c.conflicts],
    ["SKIPPED", ([, c]) => c.skipped],
    ["ADJUSTED", ([, c]) => c.adjusted],
  ]);
  process.stdout.write(`master key hash: ${report.master_key}\n`);
  const notes = [
    ["Skipped (not imported)", report.skipped],
    ["Conflicts (the target's rows kept)", report.conflicts],
    ["Adjusted (imported with a reference cleared)", report.adjusted],
  ] as const;
  for (const [title, list] of notes) {
    if (list.length === 0) continue;
    process.stdout.write(`${title}:\n${list.map((n) => `  ${n.table} ${n.id}: ${n.reason}\n`).join("")}`);
  }
}

const otariCommand = defineCommand({
  meta: {
    name: "otari",
    description: "Import an otari database: users, budgets, keys (they keep working), pricing history and usage",
  },
  args: {
    ...commonArgs,
    ...jsonArg,
    from: {
      type: "string",
      required: true,
      description: "otari's database URL: sqlite:///path/to/otari.db or postgresql://…",
    },
    "dry-run": { type: "boolean", default: false, description: "Report what would be imported and write nothing" },
    merge: {
      type: "boolean",
      default: false,
      description: "Import into a database that already holds data (conflicting rows are reported and kept)",
    },
  },
  async run({ args }) {
    const json = args.json ?? false;
    let source: ReadOnlyDb | null = null;
    let target: Store | null = null;
    let report: ImportReport;
    try {
      const config = loadCliConfig(args);
      const to = parseDatabaseUrl(config.database_url);
      source = openReadOnly(args.from);
      // A dry run must not even create the target's file.
      const missing = to.dialect === "sqlite" && !existsSync(to.path);
      target =
        args["dry-run"] && missing
          ? null
          : openStore(config.database_url, {
              poolSize: 2,
              maxOverflow: 0,
              poolTimeoutSeconds: config.db_pool_timeout,
              poolRecycleSeconds: -1,
            });
      let shown = 0;
      report = await importOtari({
        source,
        target,
        targetDisplay: to.display,
        dryRun: args["dry-run"],
        merge: args.merge,
        onProgress: (table, done, total) => {
          if (json || done < total * ((shown + 1) / 10)) return;
          shown = Math.floor((done / total) * 10);
          consola.info(`${table}: ${done} / ${total}`);
        },
      });
    } catch (err) {
      await Promise.all([source?.close(), target?.close()].map((p) => p?.catch(() => undefined)));
      fail(err, json);
    }
    await Promise.all([source?.close(), target?.close()]);
    if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else printReport(report);
  },
});

export const importCommand = defineCommand({
  meta: { name: "import", description: "Bring another gateway's database into this one" },
  subCommands: { otari: otariCommand },
});
