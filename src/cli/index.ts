/** The root command: subcommands are imported lazily so `--help` and small commands start fast. */
import { defineCommand } from "citty";
import { VERSION } from "../version";

export const mainCommand = defineCommand({
  meta: {
    name: "gateway",
    version: VERSION,
    description: "otari-compatible LLM gateway: one binary for access control, cost control and observability",
  },
  // Bad usage (unknown command or flag, missing argument) exits 2 before any command runs
  // (docs/cli.md#common-flags-and-exit-codes).
  setup: async ({ rawArgs }) => (await import("./_usage")).enforceUsage(mainCommand, rawArgs),
  subCommands: {
    serve: () => import("./serve").then((m) => m.serveCommand),
    "init-db": () => import("./migrate").then((m) => m.initDbCommand),
    migrate: () => import("./migrate").then((m) => m.migrateCommand),
    keys: () => import("./keys").then((m) => m.keysCommand),
    users: () => import("./users").then((m) => m.usersCommand),
    budgets: () => import("./budgets").then((m) => m.budgetsCommand),
    pricing: () => import("./pricing").then((m) => m.pricingCommand),
    usage: () => import("./usage").then((m) => m.usageCommand),
    teams: () => import("./teams").then((m) => m.teamsCommand),
    "rate-limits": () => import("./rate-limits").then((m) => m.rateLimitsCommand),
    alerts: () => import("./alerts").then((m) => m.alertsCommand),
    overview: () => import("./usage").then((m) => m.overviewCommand),
    import: () => import("./import").then((m) => m.importCommand),
    openapi: () => import("./openapi").then((m) => m.openapiCommand),
    "sandbox-worker": () => import("./sandbox-worker").then((m) => m.sandboxWorkerCommand),
    "mcp-probe": () => import("./mcp-probe").then((m) => m.mcpProbeCommand),
  },
});
