/**
 * The built-in tools' contract (docs/behaviour/tools.md): what the tool loop in the inference services sees of a
 * backend. `null` below is the 400 of docs/behaviour/tools.md#refusals; the text for the model is
 * docs/behaviour/tools.md#result-text.
 *
 *   const backend = createToolBackends(config.envSettings).code_execution   // null: not configured (a 400)
 *   const session = await backend.openSession({ purposeHint, maxResults, ... })  // before the 200; may throw ToolBackendUnreachable
 *   const text = await session.run(parsedArguments)   // text for the model, `[tool error]` included
 *   await session.close()                             // always, success or failure (finally)
 *
 * `run` never throws for tool-level failures (bad arguments, Python exceptions, timeouts, a dead sandbox): those
 * are `[tool error] ...` texts. It throws ToolBackendUnreachable on transport failures to a remote backend; the
 * caller turns that into the 502 of docs/behaviour/tools.md#refusals (it is a GatewayError, so rethrowing it is
 * enough). Any other exception is a bug, rendered as `[tool error] <message>` while the loop goes on
 * (docs/behaviour/tools.md#the-loop).
 *
 * Several kinds of tools in one request (built-ins and MCP servers, whose tools are only known once their sessions
 * are open) meet in one shape, ToolSource: what it offers the model, its purpose lines, `call` by offered name and
 * `close`. builtinSource (toolset.ts) wraps a backend's session as one; McpTools.open (mcp/) makes one of a
 * request's MCP servers; ToolSet gathers a request's sources and dispatches each call to its owner.
 */
import { GatewayError } from "../core/errors";

/** The function names the model sees (docs/behaviour/tools.md#what-the-model-sees). */
export type ToolName = "code_execution" | "web_search";

/**
 * The request `tools[].type` strings the gateway runs itself (docs/behaviour/tools.md#declaring-a-tool), by tool name.
 */
export const GATEWAY_TOOL_TYPES = {
  otari_code_execution: "code_execution",
  otari_web_search: "web_search",
} as const satisfies Record<string, ToolName>;
export type GatewayToolType = keyof typeof GATEWAY_TOOL_TYPES;

/**
 * Per-request options from the tool entry (docs/behaviour/tools.md#declaring-a-tool). Only web_search reads the search
 * ones.
 */
export interface ToolEntryOptions {
  purposeHint?: string | null;
  /** web_search: overrides the env default; clamped to 1..20. */
  maxResults?: number | null;
  /** web_search: a result's host must equal one of these or end in `.<domain>` (case-insensitive). */
  allowedDomains?: readonly string[] | null;
  /** web_search: results whose host matches one of these are dropped. */
  blockedDomains?: readonly string[] | null;
}

/** One request's use of a backend: state (the sandbox's variables) lives as long as the session. */
export interface ToolSession {
  /** Runs one tool call; `args` is the call's parsed JSON arguments (`{}` when they were invalid). */
  run(args: unknown): Promise<string>;
  /** Releases the session (remote: DELETE; embedded: the worker process is recycled). Never throws. */
  close(): Promise<void>;
}

export interface ToolBackend {
  readonly name: ToolName;
  /** Opens a session before the response starts; throws ToolBackendUnreachable when the backend cannot be reached. */
  openSession(options?: ToolEntryOptions): Promise<ToolSession>;
  /** Frees what the backend holds between requests (the embedded sandbox's warm processes). */
  shutdown(): Promise<void>;
}

/** What runs a gateway tool, and what its calls are priced as (`otari:<kind>`, USD per million calls). */
export type ToolKind = ToolName | "mcp";

/** One line of the purpose block added to the system prompt: `- <name>: <hint>`. */
export interface PurposeLine {
  name: string;
  hint: string;
}

/**
 * One request's open tools of one kind, whatever runs them: a built-in backend's session (one fixed tool) or the
 * request's MCP servers (the tools they listed). This is what the loop plans, offers and dispatches with, for every
 * kind alike (toolset.ts gathers a request's sources).
 */
export interface ToolSource {
  readonly kind: ToolKind;
  /** The function tools offered to the model; names are unique within the request. */
  readonly tools: readonly FunctionToolDefinition[];
  /** This source's lines of the purpose block. */
  readonly hints: readonly PurposeLine[];
  /**
   * Runs a call of one of `tools`, by its offered name. Tool-level failures are `[tool error] ...` texts; it throws
   * only what ends the request (ToolBackendUnreachable) or, once `signal` aborts, the signal's reason.
   */
  call(name: string, args: unknown, signal?: AbortSignal): Promise<string>;
  /** Releases everything the source holds (sessions closed on their servers). Never throws. */
  close(): Promise<void>;
}

/** The 502 messages of docs/behaviour/tools.md#refusals, exact text. */
export const UNREACHABLE_MESSAGES: Record<ToolName, string> = {
  code_execution: "code_execution sandbox unreachable — check GATEWAY_SANDBOX_URL",
  web_search: "web_search backend unreachable — check GATEWAY_WEB_SEARCH_URL",
};

/**
 * The backend could not be reached (connection refused, timeout, non-2xx, a malformed reply). A 502 GatewayError
 * whose message is the exact text of docs/behaviour/tools.md#refusals; `reason` says what happened, for the log only.
 */
export class ToolBackendUnreachable extends GatewayError {
  readonly tool: ToolName;
  readonly reason: string;

  constructor(tool: ToolName, reason: string, cause?: unknown) {
    super(502, UNREACHABLE_MESSAGES[tool], { code: "tool_backend_unreachable", cause });
    this.name = "ToolBackendUnreachable";
    this.tool = tool;
    this.reason = reason;
  }
}

/** The prefix of a tool result that reports a failure to the model. */
export const TOOL_ERROR_PREFIX = "[tool error] ";

/** A function's arguments as a JSON Schema object (the built-ins' own, or an MCP tool's `inputSchema`). */
export interface ObjectSchema {
  type: "object";
  properties?: Record<string, unknown>;
  required?: string[];
  [keyword: string]: unknown;
}

/** A JSON-schema'd function tool, in OpenAI chat shape minus the wrapper (`{type:"function", function: def}`). */
export interface FunctionToolDefinition {
  name: string;
  description: string;
  parameters: ObjectSchema;
}

/** The function tools injected for the model (docs/behaviour/tools.md#what-the-model-sees). */
export const TOOL_DEFINITIONS: Record<ToolName, FunctionToolDefinition> = {
  code_execution: {
    name: "code_execution",
    description:
      "Run Python 3 code in a sandbox and get back its stdout, stderr and return code. Variables persist between calls " +
      "within this conversation turn. The value of a final bare expression is printed. The standard library is " +
      "available; there is no network, no host filesystem and no subprocesses. Print what you need to see.",
    parameters: {
      type: "object",
      properties: { code: { type: "string", description: "The Python source to run." } },
      required: ["code"],
    },
  },
  web_search: {
    name: "web_search",
    description:
      "Search the web and get back the top results, each with its title, URL and the main text of the page " +
      "(or a snippet). Use it for recent events or facts you are unsure of, and cite the URLs you rely on.",
    parameters: {
      type: "object",
      properties: {
        query: { type: "string", description: "The search query, as you would type it into a search engine." },
      },
      required: ["query"],
    },
  },
};

/**
 * The built-in purpose hints, last in the chain entry `purpose_hint` -> env hint -> this
 * (docs/behaviour/tools.md#what-the-model-sees).
 */
export const DEFAULT_PURPOSE_HINTS: Record<ToolName, string> = {
  code_execution: "run Python code for calculations, data processing and checking your reasoning",
  web_search: "search the web for current information and facts to cite",
};

/** The header of the purpose-hint block when neither the request nor GATEWAY_TOOLS_HEADER sets one. */
export const DEFAULT_TOOLS_HEADER = "You have access to the following tools:";

/** The env part of the hint chain (EnvSettings' fields). */
export interface PurposeHintSettings {
  sandboxPurposeHint: string | null;
  webSearchPurposeHint: string | null;
  toolsHeader: string | null;
}

const nonBlank = (s: string | null | undefined): s is string => typeof s === "string" && s.trim() !== "";

/** Hint = entry `purpose_hint` -> env hint -> built-in default. */
export function resolvePurposeHint(
  tool: ToolName,
  entryHint: string | null | undefined,
  settings: PurposeHintSettings,
): string {
  if (nonBlank(entryHint)) return entryHint;
  const env = tool === "code_execution" ? settings.sandboxPurposeHint : settings.webSearchPurposeHint;
  return nonBlank(env) ? env : DEFAULT_PURPOSE_HINTS[tool];
}

/**
 * The block added to the system prompt: header line, then `- <tool name>: <hint>` per tool
 * (docs/behaviour/tools.md#what-the-model-sees).
 */
export function renderPurposeBlock(
  hints: readonly { name: string; hint: string }[],
  requestHeader: string | null | undefined,
  settings: Pick<PurposeHintSettings, "toolsHeader">,
): string {
  const header = nonBlank(requestHeader)
    ? requestHeader
    : nonBlank(settings.toolsHeader)
      ? settings.toolsHeader
      : DEFAULT_TOOLS_HEADER;
  return [header, ...hints.map((h) => `- ${h.name}: ${h.hint}`)].join("\n");
}
