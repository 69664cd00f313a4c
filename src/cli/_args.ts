/** Flags every command shares (docs/cli.md#common-flags-and-exit-codes). */
export const commonArgs = {
  config: { type: "string", alias: "c", description: "Path to config.yml (must exist)" },
  "database-url": { type: "string", description: "Database URL (env DATABASE_URL)" },
} as const;

export const jsonArg = {
  json: { type: "boolean", description: "Print the JSON body the HTTP API returns", default: false },
} as const;

export const pageArgs = {
  skip: { type: "string", description: "Rows to skip", default: "0" },
  limit: { type: "string", description: "Rows to return (1..1000)", default: "100" },
} as const;
