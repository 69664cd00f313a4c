/**
 * The gateway under test: the compiled binary (dist/gateway) with governance all ON: a key with RPM/TPM limits,
 * a user whose budget has a cap, prices for every model, batched usage logging and metrics. With `allLevels`, every
 * level of cost control as well (docs/behaviour/cost-control.md): the key, the user and its team each with a capped
 * budget and `max_concurrent`, and an end-user budget the requests' `user` field opens a window on.
 */
import { spawnSync } from "bun";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { DEFAULT_UPSTREAM_REQUESTS } from "../../src/runtime/upstream-capacity";
import { type Child, start, tempDir, waitReady } from "./processes";

export const ROOT = resolve(import.meta.dir, "../..");
export const BINARY = join(ROOT, "dist/gateway");
export const MASTER = "bench-master-key-0123456789";

/** The mock upstream (upstream.ts) on `port`, once it answers: one port serves every model of MODELS but `realistic`. */
export async function startMockUpstream(port: number): Promise<Child> {
  const upstream = start("upstream", [process.execPath, join(import.meta.dir, "upstream.ts"), "--port", String(port)]);
  await waitReady(upstream, `http://127.0.0.1:${port}/v1/models`);
  return upstream;
}

/** The local OTLP endpoint (otlp-sink.ts) the traced variants export to. */
export function startOtlpSink(port: number): Child {
  return start("otlp-sink", [process.execPath, join(import.meta.dir, "otlp-sink.ts"), "--port", String(port)]);
}

/** The mock upstreams the gateway routes to; one provider per upstream, so the model picks the upstream. */
export interface Upstreams {
  json: number;
  ttfb: number;
  streams: number;
  /** The realistic load's upstream (answers after 60 ms, streams over 1.5 s); run.ts alone has one. */
  realistic?: number;
}
export const MODELS = {
  json: "bench:bench-model",
  ttfb: "bench-ttfb:bench-model",
  streams: "bench-streams:bench-model",
  realistic: "bench-real:bench-model",
} as const;

/** Builds dist/gateway from this checkout, so the figures belong to the code next to them. */
export function buildBinary(): void {
  console.log("building dist/gateway (bun run build)...");
  const build = spawnSync(["bun", "run", "build"], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
  if (build.exitCode !== 0) throw new Error("bun run build failed");
}

async function admin(base: string, method: string, path: string, body: unknown): Promise<Record<string, string>> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, string>;
}

export interface Gateway {
  child: Child;
  base: string;
  /** A key of a user with a capped budget, with RPM/TPM limits high enough not to reject the load. */
  key: string;
  /** With `allLevels`: the end-user id requests send (`user`), so the end-user level applies; else null. */
  endUser: string | null;
}

/** wrk's chat load on `gw` (post.lua's settings): its key, the JSON model, streamed or not, and its end user if any. */
export function chatLoad(gw: Gateway, stream = false): { url: string; env: Record<string, string> } {
  return {
    url: `${gw.base}/v1/chat/completions`,
    env: {
      WRK_KEY: gw.key,
      WRK_MODEL: MODELS.json,
      WRK_STREAM: stream ? "1" : "0",
      ...(gw.endUser ? { WRK_USER: gw.endUser } : {}),
    },
  };
}

/** Limits high enough never to refuse the bench's load, yet enforced (slots taken, budgets leased) on every request. */
const ALL_LEVELS = { maxConcurrent: 100_000 };

/**
 * Starts the gateway with governance on and provisions the bench's user and key. `command` runs something else than
 * the compiled binary (the profiler runs the sources under Bun's CPU profiler); `serve` and its flags are appended.
 */
export async function startGateway(o: {
  name: string;
  port: number;
  databaseUrl: string;
  upstreams: Upstreams;
  env?: Record<string, string>;
  command?: string[];
  /** Budgets and max_concurrent on the key, user, team and end user too. */
  allLevels?: boolean;
  /** How long the start may take (the sources under the profiler take far longer than the binary). */
  readyTimeoutMs?: number;
}): Promise<Gateway> {
  const dir = tempDir("gw-bench-");
  const provider = (port: number) => ({
    provider_type: "openai-compatible",
    api_base: `http://127.0.0.1:${port}/v1`,
    api_key: "bench-upstream-key",
  });
  const price = { input_price_per_million: 1.0, output_price_per_million: 2.0 };
  const config = {
    database_url: o.databaseUrl,
    master_key: MASTER,
    log_level: "warning",
    log_writer_strategy: "batch",
    enable_metrics: true,
    rate_limit_rpm: 100_000_000,
    providers: {
      bench: provider(o.upstreams.json),
      "bench-ttfb": provider(o.upstreams.ttfb),
      "bench-streams": provider(o.upstreams.streams),
      ...(o.upstreams.realistic ? { "bench-real": provider(o.upstreams.realistic) } : {}),
    },
    // Only the models of the providers configured above: a price for an unconfigured provider fails the start.
    pricing: Object.fromEntries(
      Object.values(MODELS)
        .filter((m) => m !== MODELS.realistic || o.upstreams.realistic)
        .map((m) => [m, price]),
    ),
  };
  await Bun.write(join(dir, "config.yml"), stringify(config));
  const child = start(
    o.name,
    [
      ...(o.command ?? [BINARY]),
      "serve",
      "--config",
      join(dir, "config.yml"),
      "--port",
      String(o.port),
      "--host",
      "127.0.0.1",
    ],
    // Set up front, so `serve` does not re-execute itself to set it: a CPU profiler's SIGPWR that arrives during
    // that execve stays pending into the new image before Bun's handler exists, and kills the process.
    { cwd: dir, env: { BUN_CONFIG_MAX_HTTP_REQUESTS: DEFAULT_UPSTREAM_REQUESTS, ...o.env } },
  );
  const base = `http://127.0.0.1:${o.port}`;
  await waitReady(child, `${base}/health`, o.readyTimeoutMs);
  const newBudget = async () => (await admin(base, "POST", "/v1/budgets", { max_budget: 1_000_000 })).budget_id;
  const levels = o.allLevels ? { max_concurrent: ALL_LEVELS.maxConcurrent } : {};
  if (o.allLevels)
    await admin(base, "POST", "/v1/teams", { team_id: "bench-team", budget_id: await newBudget(), ...levels });
  await admin(base, "POST", "/v1/users", {
    user_id: "bench-user",
    budget_id: await newBudget(),
    ...(o.allLevels ? { team_id: "bench-team", ...levels } : {}),
  });
  const key = await admin(base, "POST", "/v1/keys", {
    key_name: "bench",
    user_id: "bench-user",
    rpm_limit: 100_000_000,
    tpm_limit: 1_000_000_000,
    ...(o.allLevels ? { budget_id: await newBudget(), end_user_budget_id: await newBudget(), ...levels } : {}),
  });
  if (!key.key) throw new Error("the gateway returned no key");
  return { child, base, key: key.key, endUser: o.allLevels ? "bench-end-user" : null };
}

/** The gateway's own count of database statements (gateway_db_statements on /metrics). */
export async function gatewayStatements(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^gateway_db_statements (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}
