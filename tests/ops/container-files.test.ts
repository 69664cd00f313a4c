/**
 * Dockerfile, .dockerignore and docker-compose.yml checked against the repo (Docker cannot run here): every file,
 * path, command, port, variable and profile they name exists or agrees with the code, and the build stage's steps
 * are replayed on a copy of the build context (.dockerignore applied) to prove they produce the binary the run
 * stage copies.
 */
import { describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, posix } from "node:path";
import { parse as parseYaml } from "yaml";
import { mainCommand } from "../../src/cli/index";
import { configSchema, SCALAR_KEYS, STANDARD_ENV } from "../../src/config/schema";
import { DEFAULT_UPSTREAM_REQUESTS, UPSTREAM_REQUESTS_VARIABLE } from "../../src/runtime/upstream-capacity";
import { ROOT, tempDir } from "../e2e/_gateway";

// ---------------------------------------------------------------------------------------------- Dockerfile parsing

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (!pending && (line.trim().startsWith("#") || line.trim() === "")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = `${pending}${line}`.trim();
    pending = "";
    const m = /^(\w+)\s+(.*)$/s.exec(full);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    if (op === "FROM") stage++;
    out.push({ op, args: m[2]!.replace(/\s+/g, " ").trim(), stage });
  }
  return out;
}

/** `["a", "b"]` (exec form) or a plain string (shell form). */
const execForm = (args: string): string[] | null => (args.startsWith("[") ? (JSON.parse(args) as string[]) : null);

const dockerfile = parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const ops = (op: string, stage?: number) =>
  dockerfile.filter((i) => i.op === op && (stage === undefined || i.stage === stage));
const lastStage = Math.max(...dockerfile.map((i) => i.stage));
const one = (op: string, stage?: number): Instruction => {
  const found = ops(op, stage);
  expect(found).toHaveLength(1);
  return found[0]!;
};

/** ENV of a stage as a map (`ENV A=1 B=2` form). */
function envOf(stage: number): Map<string, string> {
  const env = new Map<string, string>();
  for (const i of ops("ENV", stage))
    for (const m of i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env.set(m[1]!, m[2]!.replace(/^"|"$/g, ""));
  return env;
}

// ------------------------------------------------------------------------------------------ .dockerignore matching

function ignoreRules(): { negate: boolean; re: RegExp }[] {
  return readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, "");
      const re = pattern
        .split("**")
        .map((part) =>
          part
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, "[^/]*")
            .replace(/\?/g, "[^/]"),
        )
        .join(".*");
      return { negate, re: new RegExp(`^${re}$`) };
    });
}

/** Docker's rule: the last matching pattern wins; a pattern matching a parent directory excludes its contents. */
function ignored(path: string, rules = ignoreRules()): boolean {
  const parts = path.split("/");
  let out = false;
  for (const rule of rules) {
    for (let n = 1; n <= parts.length; n++) {
      if (rule.re.test(parts.slice(0, n).join("/"))) {
        out = !rule.negate;
        break;
      }
    }
  }
  return out;
}

/** Copies what `docker build .` would send as context. */
function copyContext(to: string): number {
  const rules = ignoreRules();
  let files = 0;
  const walk = (rel: string) => {
    for (const name of readdirSync(join(ROOT, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      if (ignored(path, rules)) continue;
      const st = statSync(join(ROOT, path));
      if (st.isDirectory()) walk(path);
      else {
        mkdirSync(dirname(join(to, path)), { recursive: true });
        cpSync(join(ROOT, path), join(to, path));
        files++;
      }
    }
  };
  walk("");
  return files;
}

// ------------------------------------------------------------------------------------------------ shared facts

const defaults = configSchema.parse({});
const openapi = JSON.parse(readFileSync(join(ROOT, "docs", "openapi.json"), "utf8")) as {
  paths: Record<string, unknown>;
};
const subcommands = Object.keys(mainCommand.subCommands ?? {});

/** Env-only variables the gateway reads (SPEC §8.3), as suffixes after OTARI_/GATEWAY_. */
const ENV_ONLY = new Set([
  "CONFIG",
  "SANDBOX_URL",
  "SANDBOX_PURPOSE_HINT",
  "SANDBOX_EMBEDDED",
  "SANDBOX_TIMEOUT_S",
  "SANDBOX_MEMORY_MB",
  "WEB_SEARCH_URL",
  "WEB_SEARCH_ENGINES",
  "WEB_SEARCH_MAX_RESULTS",
  "WEB_SEARCH_EXTRACT",
  "WEB_SEARCH_PURPOSE_HINT",
  "WEB_SEARCH_ALLOW_PRIVATE_HOSTS",
  "TOOLS_HEADER",
  "MCP_ALLOW_LOOPBACK",
  "MCP_ALLOW_PRIVATE_HOSTS",
]);

/** Standard variables that set a config key (DATABASE_URL, OTEL_*). */
const STANDARD = new Set(Object.values(STANDARD_ENV).flat());

/** True when the gateway reads this variable (a config key, an env-only knob, a standard variable, or a provider credential). */
function gatewayReads(name: string): boolean {
  const m = /^(OTARI|GATEWAY)_(.+)$/.exec(name);
  if (m) return ENV_ONLY.has(m[2]!) || m[2]!.toLowerCase() in SCALAR_KEYS;
  return /^[A-Z]+_API_KEY$/.test(name) || STANDARD.has(name);
}

/** `sqlite:////data/x.db` -> `/data/x.db`. */
const sqlitePath = (url: string) => url.replace(/^sqlite:\/\/\//, "");

// ------------------------------------------------------------------------------------------------------ Dockerfile

describe("Dockerfile", () => {
  const build = 0;
  const run = lastStage;

  test("is multi-stage: a named build stage, then the run stage on a small base", () => {
    expect(lastStage).toBeGreaterThanOrEqual(1);
    expect(one("FROM", build).args).toMatch(/^oven\/bun:[\d.]+-\S+ AS build$/i);
    expect(one("FROM", run).args).toMatch(/(slim|alpine|distroless)/);
    // The Bun version of the build image is the one the repo pins.
    const pinned = /BUN_VERSION:-([\d.]+)/.exec(readFileSync(join(ROOT, "scripts", "ensure-bun.sh"), "utf8"))?.[1];
    expect(one("FROM", build).args).toContain(`oven/bun:${pinned}-`);
  });

  test("every COPY source of the build stage exists and is not excluded by .dockerignore", () => {
    for (const copy of ops("COPY", build)) {
      const parts = copy.args.split(" ").filter((p) => !p.startsWith("--"));
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(join(ROOT, src))).toBe(true);
        if (src !== ".") expect(ignored(src)).toBe(false);
      }
    }
    // What the build reads must survive .dockerignore.
    for (const needed of [
      "package.json",
      "bun.lock",
      "tsconfig.json",
      "src/main.ts",
      "scripts/build.ts",
      "scripts/_compile.ts",
      "drizzle/sqlite/meta/_journal.json",
      "drizzle/pg/meta/_journal.json",
    ]) {
      expect(existsSync(join(ROOT, needed))).toBe(true);
      expect(ignored(needed)).toBe(false);
    }
    for (const heavy of ["node_modules/x", "dist/gateway", ".git/HEAD", "tests/ops/x.ts"])
      expect(ignored(heavy)).toBe(true);
  });

  test("the build command is the repo's build script, and it writes what the run stage copies", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    const runs = ops("RUN", build).map((r) => r.args);
    expect(runs).toContain("bun install --frozen-lockfile");
    expect(runs).toContain("bun run build");
    expect(pkg.scripts.build).toBe("bun scripts/build.ts");
    expect(readFileSync(join(ROOT, "scripts", "build.ts"), "utf8")).toContain('"dist/gateway"');

    const workdir = one("WORKDIR", build).args;
    const copy = ops("COPY", run).find((c) => c.args.startsWith("--from=build"));
    const [, from, to] = copy!.args.split(" ");
    expect(posix.relative(workdir, from!)).toBe("dist/gateway");
    // ENTRYPOINT is the copied binary, found on PATH; CMD is a real subcommand.
    expect(dirname(to!)).toBe("/usr/local/bin");
    expect(execForm(one("ENTRYPOINT", run).args)).toEqual([basename(to!)]);
    const cmd = execForm(one("CMD", run).args)!;
    expect(subcommands).toContain(cmd[0]!);
  });

  test("runs as a non-root user that owns the /data volume, which holds the database", () => {
    const user = one("USER", run).args;
    expect(user).toMatch(/^\d+:\d+$/);
    const [uid, gid] = user.split(":");
    expect(uid).not.toBe("0");
    const setup = ops("RUN", run)
      .map((r) => r.args)
      .join(" ");
    expect(setup).toContain(`useradd --system --uid ${uid} --gid ${gid}`);
    expect(setup).toMatch(new RegExp(`install -d -o ${uid} -g ${gid} [^&]*/data`));
    expect(execForm(one("VOLUME", run).args)).toEqual(["/data"]);
    expect(one("WORKDIR", run).args).toBe("/data");
    const env = envOf(run);
    expect(sqlitePath(env.get("OTARI_DATABASE_URL") ?? "")).toStartWith("/data/");
  });

  test("ports, env and health check agree with the config defaults and the served routes", () => {
    const env = envOf(run);
    for (const name of env.keys()) if (name !== UPSTREAM_REQUESTS_VARIABLE) expect(gatewayReads(name)).toBe(true);
    // serve's own default, preset so the container's serve never re-executes itself to set it.
    expect(env.get(UPSTREAM_REQUESTS_VARIABLE)).toBe(DEFAULT_UPSTREAM_REQUESTS);
    expect(Number(env.get("OTARI_PORT"))).toBe(defaults.port);
    expect(Number(one("EXPOSE", run).args)).toBe(defaults.port);
    const health = one("HEALTHCHECK", run).args;
    const url = /curl -fsS "http:\/\/127\.0\.0\.1:\$\{OTARI_PORT:-(\d+)\}(\/[\w/]*)"/.exec(health);
    expect(url).not.toBeNull();
    expect(Number(url![1])).toBe(defaults.port);
    expect(Object.keys(openapi.paths)).toContain(url![2]!);
    // The probe's tool is installed in the run stage.
    expect(ops("RUN", run).some((r) => /apt-get install .*\bcurl\b/.test(r.args))).toBe(true);
    expect(one("STOPSIGNAL", run).args).toBe("SIGTERM");
  });

  test("the build stage, replayed on the .dockerignore'd context, produces dist/gateway", async () => {
    const ctx = tempDir("gw-docker-ctx-");
    try {
      const files = copyContext(ctx);
      expect(files).toBeGreaterThan(50);
      expect(existsSync(join(ctx, "node_modules"))).toBe(false);
      for (const step of ops("RUN", build).map((r) => r.args)) {
        const proc = Bun.spawn(["sh", "-c", step], {
          cwd: ctx,
          stdout: "pipe",
          stderr: "pipe",
          env: { ...process.env, NODE_ENV: "production" },
        });
        const [out, err, code] = await Promise.all([
          new Response(proc.stdout).text(),
          new Response(proc.stderr).text(),
          proc.exited,
        ]);
        if (code !== 0) throw new Error(`RUN ${step} failed (${code}):\n${out}${err}`);
      }
      expect(statSync(join(ctx, "dist", "gateway")).size).toBeGreaterThan(50e6);
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  }, 300_000);
});

// ------------------------------------------------------------------------------------------------------ compose

interface ComposeService {
  build?: string;
  image?: string;
  profiles?: string[];
  ports?: string[];
  expose?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  stop_grace_period?: string;
  healthcheck?: unknown;
}

interface Compose {
  "x-profiles": Record<string, string[]>;
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

const composeText = readFileSync(join(ROOT, "docker-compose.yml"), "utf8");
const compose = parseYaml(composeText) as Compose;
const gateway = compose.services.gateway!;

/** `${NAME:-default}` -> default; plain values as they are. */
const defaultOf = (value: string) => /^\$\{\w+:-(.*)\}$/.exec(value)?.[1] ?? value;

function readEnvFile(path: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of readFileSync(join(ROOT, path), "utf8").split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env.set(m[1]!, m[2]!);
  }
  return env;
}

describe("docker-compose.yml", () => {
  test("the gateway is built from this Dockerfile and matches its port, volume and drain", () => {
    expect(gateway.build).toBe(".");
    expect(existsSync(join(ROOT, "Dockerfile"))).toBe(true);
    const containerPorts = (gateway.ports ?? []).map((p) => Number(p.split(":").at(-1)));
    expect(containerPorts).toEqual([defaults.port]);
    const dataMount = (gateway.volumes ?? []).find((v) => v.endsWith(":/data"));
    expect(dataMount).toBeDefined();
    expect(Object.keys(compose.volumes)).toContain(dataMount!.split(":")[0]!);
    expect(sqlitePath(defaultOf(gateway.environment?.OTARI_DATABASE_URL ?? ""))).toStartWith("/data/");
    // Docker must wait longer than the gateway's own drain before it kills.
    const shutdownGrace = Number(
      defaultOf(gateway.environment?.OTARI_SHUTDOWN_GRACE_SECONDS ?? String(defaults.shutdown_grace_seconds)),
    );
    expect(Number.parseInt(gateway.stop_grace_period ?? "10s", 10)).toBeGreaterThan(shutdownGrace);
  });

  test("every variable handed to the gateway is one it reads", () => {
    for (const name of Object.keys(gateway.environment ?? {}))
      expect({ name, reads: gatewayReads(name) }).toEqual({ name, reads: true });
  });

  test("every bind-mounted file exists, every named volume and dependency is declared", () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const volume of svc.volumes ?? []) {
        const source = volume.split(":")[0]!;
        if (source.startsWith(".") || source.startsWith("/"))
          expect({ name, source, exists: existsSync(join(ROOT, source)) }).toEqual({ name, source, exists: true });
        else expect(Object.keys(compose.volumes)).toContain(source);
      }
      for (const dep of Object.keys(svc.depends_on ?? {})) expect(Object.keys(compose.services)).toContain(dep);
    }
    // Services that only exist under a profile are optional dependencies of the gateway.
    for (const [dep, spec] of Object.entries(gateway.depends_on ?? {}))
      if (compose.services[dep]?.profiles) expect(spec.required).toBe(false);
  });

  test("profiles postgres, web-search, code-exec and tracing: each documented and backed by its services", () => {
    const documented = compose["x-profiles"];
    expect(Object.keys(documented).sort()).toEqual(["code-exec", "postgres", "tracing", "web-search"]);
    const used = new Set(Object.values(compose.services).flatMap((s) => s.profiles ?? []));
    for (const profile of used) expect(Object.keys(documented)).toContain(profile);
    for (const [profile, services] of Object.entries(documented)) {
      for (const name of services) expect(compose.services[name]?.profiles).toContain(profile);
      expect(composeText).toContain(`#   ${profile}`);
    }
    // code-exec needs no container: the gateway's embedded sandbox, on by default.
    expect(documented["code-exec"]).toEqual([]);
    expect(defaultOf(gateway.environment?.GATEWAY_SANDBOX_EMBEDDED ?? "")).toBe("true");
    expect(gateway.profiles).toBeUndefined();
  });

  test("demo/compose/profiles.env wires the gateway to the profile services", () => {
    expect(composeText).toContain("--env-file demo/compose/profiles.env");
    const env = readEnvFile("demo/compose/profiles.env");
    expect(env.get("COMPOSE_PROFILES")!.split(",").sort()).toEqual(Object.keys(compose["x-profiles"]).sort());
    // Every other variable reaches the gateway through compose substitution.
    for (const key of env.keys()) if (key !== "COMPOSE_PROFILES") expect(composeText).toContain(`\${${key}:-`);

    const pg = compose.services.postgres!;
    const db = new URL(env.get("OTARI_DATABASE_URL")!);
    expect(db.protocol).toBe("postgresql:");
    expect(db.hostname).toBe("postgres");
    expect(db.username).toBe(pg.environment!.POSTGRES_USER!);
    expect(db.password).toBe(defaultOf(pg.environment!.POSTGRES_PASSWORD!));
    expect(db.pathname).toBe(`/${pg.environment!.POSTGRES_DB}`);
    expect(pg.healthcheck).toBeDefined();

    const search = new URL(env.get("GATEWAY_WEB_SEARCH_URL")!);
    expect(search.hostname).toBe("searxng");
    expect(compose.services.searxng!.expose).toContain(search.port);
    const settings = parseYaml(readFileSync(join(ROOT, "demo", "web-search", "settings.yml"), "utf8")) as {
      use_default_settings: { engines: { keep_only: string[] } };
      search: { formats: string[] };
      engines: { name: string; disabled: boolean }[];
    };
    const kept = settings.use_default_settings.engines.keep_only;
    for (const engine of env.get("GATEWAY_WEB_SEARCH_ENGINES")!.split(",")) expect(kept).toContain(engine);
    expect(settings.search.formats).toContain("json");
    // Engines that scrape result pages whose terms forbid automated queries stay off.
    for (const scraper of ["google", "bing", "duckduckgo", "qwant", "startpage", "brave", "yahoo", "mojeek"])
      expect(kept).not.toContain(scraper);
    expect(settings.engines.map((e) => e.name).sort()).toEqual([...kept].sort());
    expect(env.get("GATEWAY_SANDBOX_EMBEDDED")).toBe("true");

    // tracing: the OTLP/HTTP base URL names the jaeger service and a port it exposes on the compose network.
    const otlp = new URL(env.get("OTEL_EXPORTER_OTLP_ENDPOINT")!);
    expect(otlp.hostname).toBe("jaeger");
    expect(compose.services.jaeger!.expose).toContain(otlp.port);
    expect(compose.services.jaeger!.profiles).toEqual(["tracing"]);
  });

  test("paths named in comments of the container files exist", () => {
    const text = `${composeText}\n${readFileSync(join(ROOT, "Dockerfile"), "utf8")}\n${readFileSync(join(ROOT, "demo", "compose", "profiles.env"), "utf8")}`;
    const paths = new Set([...text.matchAll(/\b((?:demo|scripts|src|docs)\/[\w./-]+\.\w+)/g)].map((m) => m[1]!));
    expect(paths.size).toBeGreaterThan(2);
    for (const path of paths) expect({ path, exists: existsSync(join(ROOT, path)) }).toEqual({ path, exists: true });
  });
});
