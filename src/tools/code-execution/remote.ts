/**
 * The remote sandbox client (docs/behaviour/tools.md#remote-sandbox-protocol): `POST {base}/sessions`, then
 * `POST {base}/sessions/{id}/exec` per call, then `DELETE {base}/sessions/{id}`. HTTP timeout 60 s. The base URL is an
 * operator setting (trusted, loopback included: no SSRF check).
 */
import { logger } from "../../runtime/logger";
import { type ToolBackend, ToolBackendUnreachable, type ToolSession } from "../types";
import { codeArgument, renderSandboxResult, toolError } from "./render";

const log = logger("sandbox");

/**
 * Every sandbox HTTP call times out after 60 s; exec asks the sandbox for the same
 * (docs/behaviour/tools.md#remote-sandbox-protocol).
 */
export const REMOTE_SANDBOX_TIMEOUT_S = 60;

export interface RemoteSandboxOptions {
  /** GATEWAY_SANDBOX_URL (a trailing `/` is removed). */
  baseUrl: string;
  /** Overrides the 60 s HTTP timeout (tests). */
  timeoutMs?: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Renders an exec reply's `result_block` (docs/behaviour/tools.md#result-text); a non-object `content` stringifies the
 * whole block.
 */
export function renderResultBlock(block: Record<string, unknown>): string {
  const content = block.content;
  if (!isRecord(content)) return JSON.stringify(block);
  const text = (v: unknown) => (typeof v === "string" ? v : v === null || v === undefined ? "" : String(v));
  const rc = content.return_code;
  const files = Array.isArray(content.content)
    ? content.content.flatMap((f) => (isRecord(f) ? [text(f.filename) || text(f.file_id)] : [])).filter((n) => n !== "")
    : [];
  return renderSandboxResult({
    stdout: text(content.stdout),
    stderr: text(content.stderr),
    returnCode: typeof rc === "number" ? rc : rc === null || rc === undefined ? null : Number(rc),
    files,
  });
}

class RemoteSandboxSession implements ToolSession {
  private closed = false;

  constructor(
    private readonly client: RemoteSandbox,
    private readonly sessionId: string,
  ) {}

  async run(args: unknown): Promise<string> {
    const code = codeArgument(args);
    if (code === null) return toolError("missing 'code': pass the Python source as a string");
    const reply = await this.client.request("POST", `/sessions/${encodeURIComponent(this.sessionId)}/exec`, {
      tool: "code_execution",
      input: { code },
      timeout_seconds: REMOTE_SANDBOX_TIMEOUT_S,
    });
    const block = isRecord(reply) ? reply.result_block : undefined;
    if (!isRecord(block)) throw new ToolBackendUnreachable("code_execution", "exec reply has no result_block object");
    return renderResultBlock(block);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.request("DELETE", `/sessions/${encodeURIComponent(this.sessionId)}`);
    } catch (err) {
      log.warn("sandbox session delete failed", {
        session_id: this.sessionId,
        error: err instanceof ToolBackendUnreachable ? err.reason : String(err),
      });
    }
  }
}

export class RemoteSandbox implements ToolBackend {
  readonly name = "code_execution" as const;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(options: RemoteSandboxOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? REMOTE_SANDBOX_TIMEOUT_S * 1000;
  }

  /** One JSON call; any transport failure, non-2xx or non-JSON 2xx body (except on DELETE) is ToolBackendUnreachable. */
  async request(method: "POST" | "DELETE", path: string, body?: unknown): Promise<unknown> {
    const url = `${this.baseUrl}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const reason =
        err instanceof DOMException && err.name === "TimeoutError"
          ? `timed out after ${this.timeoutMs} ms`
          : String(err);
      throw new ToolBackendUnreachable("code_execution", `${method} ${path}: ${reason}`, err);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ToolBackendUnreachable("code_execution", `${method} ${path}: HTTP ${res.status}`);
    }
    if (method === "DELETE") {
      await res.body?.cancel();
      return null;
    }
    try {
      return await res.json();
    } catch (err) {
      throw new ToolBackendUnreachable("code_execution", `${method} ${path}: reply is not JSON`, err);
    }
  }

  async openSession(): Promise<ToolSession> {
    const reply = await this.request("POST", "/sessions", {});
    const id = isRecord(reply) ? reply.session_id : undefined;
    if (typeof id !== "string" || id === "")
      throw new ToolBackendUnreachable("code_execution", "POST /sessions: reply has no session_id");
    return new RemoteSandboxSession(this, id);
  }

  async shutdown(): Promise<void> {}
}
