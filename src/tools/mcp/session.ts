/**
 * A request's MCP servers as one tool source, through the official SDK's client and its Streamable HTTP transport.
 * Loaded on first use (index.ts imports it dynamically): the SDK costs nothing to a gateway whose requests never
 * name an MCP server.
 *
 * Per server and request, one session: `initialize`, `tools/list` page by page (filtered by `allowed_tools`), then
 * `tools/call` per model call, and at the end the session's DELETE, as the transport does it. Every HTTP request of
 * the session goes to the address the URL policy checked (policy.ts), through a fetch that also:
 * - answers the transport's optional GET stream with 405 itself: the gateway asks for no server-initiated messages
 *   (it declares no client capabilities), so the stream would only hold a connection open on the server;
 * - watches every response body: one that breaks mid-way (the server went away) fails the calls in flight at once,
 *   instead of letting them wait for their timeout, and one larger than MAX_RESPONSE_BYTES is cut off;
 * - bounds the closing DELETE by the close timeout.
 *
 * Opening fails with a 502 naming the server (McpServerUnreachable); a call never throws for what happens on the
 * server's side (a result marked isError, a JSON-RPC error, a timeout, a dead server): those are `[tool error] ...`
 * texts the model can react to.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type CallToolResult, ErrorCode, McpError, type Tool } from "@modelcontextprotocol/sdk/types.js";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import { logger } from "../../runtime/logger";
import { VERSION } from "../../version";
import { pinnedFetcher } from "../ssrf";
import { type FunctionToolDefinition, type ObjectSchema, TOOL_ERROR_PREFIX, type ToolSource } from "../types";
import { McpServerUnreachable } from "./errors";
import { offeredNames } from "./names";
import type { CheckedMcpServer } from "./policy";
import { renderToolResult } from "./render";

const log = logger("mcp");

/** The most one HTTP response of a session may carry. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** The most tools/list pages read from one server. */
export const MAX_TOOL_PAGES = 100;

/**
 * Structured results are rendered as text for the model, never used by the gateway, so the SDK's output-schema
 * check (Ajv compiling each listed tool's schema, every request) would only cost time and fail on a sloppy schema.
 */
const acceptAll: jsonSchemaValidator = {
  getValidator: () => (input: unknown) => ({ valid: true, data: input as never, errorMessage: undefined }),
};

/** The server went away while a call was in flight (its response broke off). */
class ConnectionLost extends Error {}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** Why a request to the server failed, in a few words. */
function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof McpError && err.code === ErrorCode.RequestTimeout) return `no answer within ${seconds(timeoutMs)}`;
  if (err instanceof DOMException && err.name === "TimeoutError") return `no answer within ${seconds(timeoutMs)}`;
  if (err instanceof StreamableHTTPError)
    return (err.code ?? 0) > 0 ? `HTTP ${err.code}: ${err.message.slice(0, 200)}` : err.message.slice(0, 200);
  if (err instanceof ConnectionLost) return err.message;
  return (err instanceof Error ? err.message : String(err)).slice(0, 200);
}

/** A Response whose body reports a break (or an oversized body) to `broke` and to its reader. */
function watched(res: Response, broke: (err: Error) => void): Response {
  if (!res.body) return res;
  const reader = res.body.getReader();
  let size = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (err) {
        const lost = new ConnectionLost(`the server went away (${err instanceof Error ? err.message : err})`);
        broke(lost);
        controller.error(lost);
        return;
      }
      if (chunk.done) return controller.close();
      size += chunk.value.byteLength;
      if (size > MAX_RESPONSE_BYTES) {
        const big = new ConnectionLost(`the server sent a response larger than ${MAX_RESPONSE_BYTES} bytes`);
        await reader.cancel(big).catch(() => undefined);
        broke(big);
        controller.error(big);
        return;
      }
      controller.enqueue(chunk.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** Timeouts of a session, in ms. */
export interface McpTimeouts {
  /** initialize and every tools/list page together. */
  connectMs: number;
  /** One tools/call. */
  callMs: number;
  /** The closing DELETE. */
  closeMs: number;
}

/** One server's session. */
class McpConnection {
  tools: readonly Tool[] = [];
  private readonly client: Client;
  private readonly transport: StreamableHTTPClientTransport;
  /** One controller per request in flight, aborted when a response breaks off. */
  private readonly inFlight = new Set<AbortController>();
  private closing = false;

  constructor(
    private readonly server: CheckedMcpServer,
    private readonly timeouts: McpTimeouts,
  ) {
    const pinned = pinnedFetcher(server.target);
    const fetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
      if (init?.method === "GET") return new Response(null, { status: 405 });
      const signal =
        init?.method === "DELETE"
          ? AbortSignal.any([...(init.signal ? [init.signal] : []), AbortSignal.timeout(timeouts.closeMs)])
          : init?.signal;
      return watched(await pinned(input, { ...init, signal }), (err) => this.lost(err));
    };
    const token = server.config.authorization_token;
    this.transport = new StreamableHTTPClientTransport(server.target.url, {
      fetch,
      requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : undefined,
      // A broken stream is not resumed: the call fails (see `lost`) and the model may try again.
      reconnectionOptions: {
        maxRetries: 0,
        initialReconnectionDelay: 0,
        maxReconnectionDelay: 0,
        reconnectionDelayGrowFactor: 1,
      },
    });
    this.client = new Client(
      { name: "otari-gateway", version: VERSION },
      { capabilities: {}, jsonSchemaValidator: acceptAll },
    );
    this.client.onerror = (err) => log.debug("mcp transport error", { server: this.name, error: err.message });
  }

  get name(): string {
    return this.server.config.name;
  }

  /**
   * Runs requests of the session under one signal of their own, aborted when `o.signal` aborts, when `o.deadlineMs`
   * passes or when a response breaks off, and rejecting then with that reason (the SDK would wrap any abort as a
   * request timeout). Only this signal reaches the SDK, and nothing aborts it once the work is over: the SDK keeps
   * its abort listeners, and a later abort would send `notifications/cancelled` for a request that has finished.
   */
  private async guarded<T>(
    o: { signal?: AbortSignal; deadlineMs?: number },
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const local = new AbortController();
    const follow = () => local.abort(o.signal?.reason);
    if (o.signal?.aborted) follow();
    o.signal?.addEventListener("abort", follow, { once: true });
    const timer =
      o.deadlineMs === undefined
        ? undefined
        : setTimeout(() => local.abort(new DOMException("deadline passed", "TimeoutError")), o.deadlineMs);
    this.inFlight.add(local);
    try {
      return await work(local.signal);
    } catch (err) {
      if (local.signal.aborted) throw local.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", follow);
      this.inFlight.delete(local);
    }
  }

  /** An error text without the token (a server may echo the request's headers in its error body). */
  private redacted(text: string): string {
    const token = this.server.config.authorization_token;
    return token ? text.replaceAll(token, "[token]") : text;
  }

  /** A response broke off: the requests in flight cannot get their answer any more. */
  private lost(err: Error): void {
    if (this.closing) return;
    for (const request of this.inFlight) request.abort(err);
  }

  /** initialize, then the tools (allowed ones only); a failure closes the session and is the server's 502. */
  async open(): Promise<void> {
    const { connectMs } = this.timeouts;
    let listed: Tool[];
    try {
      listed = await this.guarded({ deadlineMs: connectMs }, async (signal) => {
        const options = { timeout: connectMs, signal };
        await this.client.connect(this.transport, options);
        return listTools(this.client, options);
      });
    } catch (err) {
      await this.close();
      throw new McpServerUnreachable(this.name, this.redacted(describe(err, connectMs)), err);
    }
    const allowed = this.server.config.allowed_tools;
    const allow = allowed?.length ? new Set(allowed) : null;
    // A tool that can only run as a task cannot be called with a plain tools/call.
    this.tools = listed.filter((t) => (!allow || allow.has(t.name)) && t.execution?.taskSupport !== "required");
  }

  async call(tool: string, args: unknown, signal?: AbortSignal): Promise<string> {
    try {
      const result = await this.guarded({ signal }, (s) =>
        this.client.callTool({ name: tool, arguments: isRecord(args) ? args : {} }, undefined, {
          timeout: this.timeouts.callMs,
          signal: s,
        }),
      );
      return renderToolResult(result as CallToolResult);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const why = this.redacted(describe(err, this.timeouts.callMs));
      log.warn("mcp tool call failed", { server: this.name, tool, error: why });
      return `${TOOL_ERROR_PREFIX}MCP server '${this.name}', tool '${tool}': ${why}`;
    }
  }

  /** DELETEs the session (bounded by the close timeout), then stops the transport. Never throws; once only. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.transport.terminateSession().catch((err: unknown) =>
      log.debug("mcp session DELETE failed", {
        server: this.name,
        error: err instanceof Error ? err.message : String(err),
      }),
    );
    await this.client.close().catch(() => undefined);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every page of tools/list (bounded: a server that pages forever is a failure). */
async function listTools(client: Client, options: { timeout: number; signal: AbortSignal }): Promise<Tool[]> {
  const tools: Tool[] = [];
  const cursors = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_TOOL_PAGES; page++) {
    const result = await client.listTools(cursor === undefined ? undefined : { cursor }, options);
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (cursor === undefined) return tools;
    if (cursors.has(cursor)) throw new Error(`tools/list repeated the cursor '${cursor.slice(0, 50)}'`);
    cursors.add(cursor);
  }
  throw new Error(`tools/list has more than ${MAX_TOOL_PAGES} pages`);
}

/** The description the model reads: the tool's own, else its title, else where it comes from. */
function description(tool: Tool, server: string): string {
  return (
    tool.description?.trim() ||
    tool.title?.trim() ||
    tool.annotations?.title?.trim() ||
    `${tool.name} (MCP server ${server})`
  );
}

export interface OpenMcpOptions {
  timeouts: McpTimeouts;
  /** Names the offered tools must not take (the built-in tools', the client's own functions). */
  reserved?: ReadonlySet<string>;
}

/**
 * Opens a session on every server at once; when one cannot be opened, the others are closed and its 502 is thrown.
 * The source offers the servers' tools under their offered names (names.ts), server by server.
 */
export async function openMcpSource(servers: readonly CheckedMcpServer[], o: OpenMcpOptions): Promise<ToolSource> {
  const connections = servers.map((s) => new McpConnection(s, o.timeouts));
  const failed = (await Promise.allSettled(connections.map((c) => c.open()))).find((s) => s.status === "rejected");
  if (failed) {
    await Promise.all(connections.map((c) => c.close()));
    throw failed.reason;
  }
  const pairs = connections.flatMap((c) => c.tools.map((t) => ({ conn: c, tool: t })));
  const names = offeredNames(
    pairs.map((p) => ({ server: p.conn.name, tool: p.tool.name })),
    o.reserved,
  );
  const route = new Map<string, { conn: McpConnection; tool: string }>();
  const tools: FunctionToolDefinition[] = pairs.map((p, i) => {
    const name = names[i]!;
    route.set(name, { conn: p.conn, tool: p.tool.name });
    return { name, description: description(p.tool, p.conn.name), parameters: p.tool.inputSchema as ObjectSchema };
  });
  const hints = servers.flatMap((s) =>
    s.config.purpose_hint?.trim() ? [{ name: s.config.name, hint: s.config.purpose_hint }] : [],
  );
  return {
    kind: "mcp",
    tools,
    hints,
    call: (name, args, signal) => {
      const owner = route.get(name);
      if (!owner) return Promise.reject(new Error(`no MCP tool is offered as '${name}'`));
      return owner.conn.call(owner.tool, args, signal);
    },
    close: async () => {
      await Promise.all(connections.map((c) => c.close()));
    },
  };
}
