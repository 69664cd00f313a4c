/**
 * The peer: Portkey's open-source gateway (@portkey-ai/gateway 1.15.2) on Node, installed with npm into
 * scripts/bench/.peer/ (gitignored) on first use. It routes by its x-portkey-* headers; custom-host points it at
 * the mock upstream.
 *
 * @hono/node-server is pinned to 1.14.1: the package asks for ^1.3.3, and from 1.14.2 on every stream fails with
 * `TypeError: immutable` in Portkey's updateHeaders (Portkey-AI/gateway#1389, #1550). JSON works either way.
 */
import { spawnSync } from "bun";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Child, start, waitReady } from "./processes";

export const PORTKEY_VERSION = "1.15.2";
const HONO_NODE_SERVER = "1.14.1";
const PEER_DIR = join(import.meta.dir, ".peer");
export const PORTKEY_ENTRY = join(PEER_DIR, "node_modules/@portkey-ai/gateway/build/start-server.js");

/** Installs the peer if needed; returns null when ready, or why it cannot run. */
export function ensurePortkey(): string | null {
  if (spawnSync(["which", "node"]).exitCode !== 0) return "node is not installed";
  const manifest = join(PEER_DIR, "node_modules/@portkey-ai/gateway/package.json");
  const installed =
    existsSync(manifest) &&
    (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version === PORTKEY_VERSION;
  const hono = join(PEER_DIR, "node_modules/@hono/node-server/package.json");
  const honoOk =
    existsSync(hono) && (JSON.parse(readFileSync(hono, "utf8")) as { version: string }).version === HONO_NODE_SERVER;
  if (installed && honoOk) return null;
  console.log(`installing @portkey-ai/gateway@${PORTKEY_VERSION} into scripts/bench/.peer (npm)...`);
  mkdirSync(PEER_DIR, { recursive: true });
  writeFileSync(
    join(PEER_DIR, "package.json"),
    JSON.stringify(
      {
        private: true,
        dependencies: { "@portkey-ai/gateway": PORTKEY_VERSION },
        overrides: { "@hono/node-server": HONO_NODE_SERVER },
      },
      null,
      2,
    ),
  );
  const npm = spawnSync(["npm", "install", "--no-audit", "--no-fund", "--omit=dev"], {
    cwd: PEER_DIR,
    stdout: "inherit",
    stderr: "inherit",
  });
  if (npm.exitCode !== 0 || !existsSync(PORTKEY_ENTRY))
    return `npm install of @portkey-ai/gateway@${PORTKEY_VERSION} failed`;
  return null;
}

export const portkeyCommand = (port: number): string[] => ["node", PORTKEY_ENTRY, `--port=${port}`, "--headless"];

/** The headers that route a request through Portkey to the mock upstream on `upstreamPort`. */
export const portkeyHeaders = (upstreamPort: number): Record<string, string> => ({
  "x-portkey-provider": "openai",
  "x-portkey-custom-host": `http://127.0.0.1:${upstreamPort}/v1`,
});

export async function startPortkey(port: number): Promise<Child> {
  const child = start("portkey", portkeyCommand(port), { cwd: PEER_DIR });
  await waitReady(child, `http://127.0.0.1:${port}/`);
  return child;
}
