/** Parsing of `database_url` (docs/behaviour/storage.md#databases, docs/configuration.md#keys). */

export type DatabaseTarget =
  | { dialect: "sqlite"; path: string; display: string }
  | { dialect: "pg"; url: string; display: string };

/** `sqlite:///rel.db` is relative to the cwd, `sqlite:////abs.db` absolute, `sqlite:///:memory:` in memory. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  const trimmed = url.trim();
  const sqlite = /^sqlite(?:\+\w+)?:\/\/\/(.*)$/i.exec(trimmed);
  if (sqlite) {
    const path = sqlite[1] ?? "";
    if (!path) throw new Error(`Invalid database_url '${url}': missing file path (e.g. sqlite:///./gateway.db)`);
    return { dialect: "sqlite", path, display: trimmed };
  }
  const pg = /^postgres(?:ql)?(?:\+\w+)?:\/\//i.exec(trimmed);
  if (pg) {
    const normalised = trimmed.replace(/^postgres(?:ql)?(?:\+\w+)?:\/\//i, "postgres://");
    return { dialect: "pg", url: normalised, display: maskPassword(normalised) };
  }
  throw new Error(`Invalid database_url '${maskPassword(url)}': expected sqlite:///<path> or postgresql://…`);
}

/** The URL with its password replaced, for logs. */
export function maskPassword(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, "$1****@");
}
