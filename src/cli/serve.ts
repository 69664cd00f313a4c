/** `serve` (docs/cli.md#serve): start the gateway, drain on SIGTERM/SIGINT, exit 0. */
import { defineCommand } from "citty";
import { GatewayError } from "../core/errors";
import type { Gateway } from "../gateway";
import type { PlatformGateway } from "../gateway-platform";
import { pathOf } from "../http/url-path";
import { errorResponse } from "../http/errors";
import { releaseStartupMemory } from "../runtime/engine";
import { configureLogging, logger } from "../runtime/logger";
import { type Refusal, startServer } from "../runtime/server";
import { VERSION } from "../version";
import { commonArgs } from "./_args";
import { fail, loadCliConfig, UsageError } from "./_run";

const log = logger("serve");

/** What the server answers when it refuses a request itself (src/runtime/server.ts). */
const REFUSALS: Record<Refusal, GatewayError> = {
  draining: new GatewayError(503, "Service is shutting down", { code: "shutting_down" }),
  busy: new GatewayError(503, "Server busy: too many open connections", {
    code: "server_busy",
    headers: { connection: "close" },
  }),
  invalid_host: new GatewayError(400, "Invalid Host header", {
    code: "invalid_host",
    headers: { connection: "close" },
  }),
};

export const serveCommand = defineCommand({
  meta: { name: "serve", description: "Run the gateway HTTP server" },
  args: {
    ...commonArgs,
    host: { type: "string", description: "Bind address (default 0.0.0.0)" },
    port: { type: "string", description: "Bind port (default 8000)" },
    "master-key": { type: "string", description: "Master key (env OTARI_MASTER_KEY)" },
    "auto-migrate": {
      type: "boolean",
      description: "Apply migrations at start (default true; --no-auto-migrate to skip)",
    },
    workers: { type: "string", description: "Must be 1: scale with replicas instead", default: "1" },
    "log-level": { type: "string", description: "debug | info | warning | error | critical" },
    "log-format": { type: "string", description: "auto | pretty | json" },
  },
  async run({ args }) {
    let config: ReturnType<typeof loadCliConfig>;
    try {
      if (args.workers !== "1")
        throw new UsageError("--workers > 1 is not supported: run several replicas behind a load balancer instead");
      config = loadCliConfig(args, {
        host: args.host,
        port: args.port === undefined ? undefined : Number(args.port),
        master_key: args["master-key"],
        auto_migrate: args["auto-migrate"],
        log_level: args["log-level"],
        log_format: args["log-format"],
      });
    } catch (err) {
      fail(err, false);
    }
    configureLogging({ level: config.log_level, format: config.log_format });
    log.info(`Starting otari-gateway on ${config.host}:${config.port}`, { version: VERSION });

    let gateway: Gateway | PlatformGateway;
    try {
      // Platform mode opens no database: no migrations, no bootstrap (docs/behaviour/platform-mode.md#activation).
      // Only the mode in use is loaded: the other's modules would only cost start-up time and memory.
      gateway =
        config.mode === "platform"
          ? (await import("../gateway-platform")).createPlatformGateway(config)
          : await (await import("../gateway")).createGateway(config);
    } catch (err) {
      log.error(`Start-up failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    }
    if (gateway.mode === "platform") {
      log.info("Database: disabled (platform mode)");
      log.info(`Platform: ${gateway.runtime.client.baseUrl}`);
    } else {
      log.info(`Database: ${gateway.store.display}`);
      const providers = Object.keys(config.providers);
      log.info(
        `Providers: ${providers.length ? providers.join(", ") : "(none configured; provider env vars are used)"}`,
      );
    }
    const app = gateway.app;

    const server = startServer({
      host: config.host,
      port: config.port,
      maxRequestBodySize: config.max_request_body_bytes + 1024 * 1024,
      fetch: (request) => app.handle(request),
      streamsInFlight:
        gateway.mode === "platform" ? gateway.runtime.streamsInFlight : gateway.inference.streamsInFlight,
      idleTimeoutSeconds: config.http_idle_timeout_seconds,
      maxConnections: config.http_max_connections ?? null,
      refuse: (request, reason) => errorResponse(REFUSALS[reason], pathOf(request.url)),
    });
    log.info(`Listening on ${server.url}`);
    releaseStartupMemory();

    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) {
        log.warn(`Second ${signal}: exiting now`);
        process.exit(1);
      }
      stopping = true;
      gateway.startDrain();
      log.info(`${signal} received: draining (up to ${config.shutdown_grace_seconds}s)`, {
        in_flight: server.inFlight(),
      });
      const clean = await server.drain(config.shutdown_grace_seconds * 1000);
      if (!clean) log.warn("Grace period over with requests still in flight", { in_flight: server.inFlight() });
      await server.close();
      await gateway.close();
      log.info("Stopped");
      process.exit(0);
    };
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    process.on("SIGINT", () => void shutdown("SIGINT"));
  },
});
