/** The root command: subcommands are imported lazily so `--help` and small commands start fast. */
import { defineCommand } from "citty";
import { VERSION } from "../version";

export const mainCommand = defineCommand({
  meta: { name: "gateway", version: VERSION, description: "otari-compatible LLM gateway: one binary for access control, cost control and observability" },
  subCommands: {
    serve: () => import("./serve").then((m) => m.serveCommand),
    "init-db": () => import("./migrate").then((m) => m.initDbCommand),
    migrate: () => import("./migrate").then((m) => m.migrateCommand),
  },
});
