/**
 * Where this process journals usage rows (docs/behaviour/storage.md#usage-writer-and-journal): `usage_journal_path`,
 * else beside the SQLite file, else `./.gateway/`. The name carries the port: stable across restarts (so a restarted
 * instance replays what its killed predecessor left) yet distinct for replicas sharing a directory.
 */
import { dirname, join, resolve } from "node:path";
import type { Config } from "../../config/load";
import { parseDatabaseUrl } from "../../db/url";

export function journalPathFor(config: Config): string | null {
  if (config.log_writer_strategy === "single") return null;
  if (config.usage_journal_path) return resolve(config.usage_journal_path);
  const target = parseDatabaseUrl(config.database_url);
  const dir =
    target.dialect === "sqlite" && target.path !== ":memory:" ? dirname(resolve(target.path)) : resolve(".gateway");
  return join(dir, `usage-journal-${config.port}.jsonl`);
}
