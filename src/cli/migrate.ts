/**
 * `init-db` and `migrate [--revision REV]` (docs/cli.md#init-db-and-migrate): apply the migrations embedded in the
 * binary.
 */
import { defineCommand } from "citty";
import { consola } from "consola";
import { openStore } from "../db/client";
import { migrate } from "../db/migrate";
import { commonArgs, jsonArg } from "./_args";
import { type CommonFlags, fail, loadCliConfig } from "./_run";

async function run(flags: CommonFlags, revision: string, human: { before: (url: string) => void; after: () => void }) {
  let config: ReturnType<typeof loadCliConfig>;
  try {
    config = loadCliConfig(flags);
  } catch (err) {
    fail(err, flags.json ?? false);
  }
  const store = openStore(config.database_url);
  if (!flags.json) human.before(store.display);
  try {
    const result = await migrate(store, revision);
    if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else human.after();
  } catch (err) {
    if (!flags.json) consola.error(`Migration failed: ${err instanceof Error ? err.message : String(err)}`);
    else
      process.stderr.write(
        `${JSON.stringify({ error: { message: `Migration failed: ${String(err)}`, type: "server_error" } })}\n`,
      );
    process.exitCode = 1;
  } finally {
    await store.close();
  }
}

export const initDbCommand = defineCommand({
  meta: { name: "init-db", description: "Create or upgrade the database schema to the latest version" },
  args: { ...commonArgs, ...jsonArg },
  run: ({ args }) =>
    run(args, "head", {
      before: (url) => consola.info(`Initializing database: ${url}`),
      after: () => consola.success("Database initialized successfully!"),
    }),
});

export const migrateCommand = defineCommand({
  meta: { name: "migrate", description: "Apply migrations up to a revision (default: all)" },
  args: {
    ...commonArgs,
    ...jsonArg,
    revision: { type: "string", description: "Target drizzle tag (0003 or 0003_name)", default: "head" },
  },
  run: ({ args }) =>
    run(args, args.revision, {
      before: (url) => {
        consola.info(`Running migrations on: ${url}`);
        consola.info(`Target revision: ${args.revision}`);
      },
      after: () => consola.success("Migrations completed successfully!"),
    }),
});
