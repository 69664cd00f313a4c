/**
 * Bun's fetch sends at most 256 requests at once by default and queues the rest, so a gateway serving more streams
 * than that would hold clients waiting for a slot, not for the provider. The limit is read only from the
 * environment at process start (`BUN_CONFIG_MAX_HTTP_REQUESTS`), so `serve` re-executes itself in place (same
 * PID, so signals and supervisors see one process) with it set, unless the operator set it already (the container
 * image does, which spares it that second runtime start).
 */
import { isCompiledBinary } from "./host";

export const UPSTREAM_REQUESTS_VARIABLE = "BUN_CONFIG_MAX_HTTP_REQUESTS";
/** Upstream requests in flight at once per process (Bun accepts up to 65535). */
export const DEFAULT_UPSTREAM_REQUESTS = "16384";

type Execve = (file: string, args: string[], env: Record<string, string | undefined>) => never;

export function ensureUpstreamCapacity(): void {
  const execve = (process as unknown as { execve?: Execve }).execve;
  if (process.env[UPSTREAM_REQUESTS_VARIABLE] || typeof execve !== "function") return;
  // Compiled, argv is ["bun", "/$bunfs/root/<name>", ...args] and the binary re-applies its own embedded flags; from
  // source it is [bun, script, ...args], with Bun's own flags (--hot, --smol, --cpu-prof...) in execArgv.
  const args = isCompiledBinary() ? process.argv.slice(2) : [...process.execArgv, ...process.argv.slice(1)];
  execve(process.execPath, [process.execPath, ...args], {
    ...process.env,
    [UPSTREAM_REQUESTS_VARIABLE]: DEFAULT_UPSTREAM_REQUESTS,
  });
}
