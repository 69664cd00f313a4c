/**
 * A request's gateway tools from every source in one place: the built-in backends' sessions and the request's MCP
 * servers, opened together before the response starts, offered to the model as one list of function tools and one
 * purpose block, each call dispatched to the source that offered its name, all closed at the end.
 *
 *   const tools = await ToolSet.open([builtinSource(sandbox, options, hint), () => mcp.open(servers, { reserved })])
 *   tools.definitions / tools.hints     // what the model is offered, in source order
 *   tools.owns(name), tools.kindOf(name) // a model call is the gateway's; what it is priced as
 *   await tools.call(name, args, signal) // the text for the model
 *   await tools.close()                 // always (finally); never throws
 */
import {
  type FunctionToolDefinition,
  type PurposeLine,
  TOOL_DEFINITIONS,
  type ToolBackend,
  type ToolEntryOptions,
  type ToolKind,
  type ToolSource,
} from "./types";

/** Opens a built-in backend's session as a source of its one tool, with the hint already resolved. */
export function builtinSource(
  backend: ToolBackend,
  options: ToolEntryOptions,
  hint: string,
): () => Promise<ToolSource> {
  return async () => {
    const session = await backend.openSession(options);
    return {
      kind: backend.name,
      tools: [TOOL_DEFINITIONS[backend.name]],
      hints: [{ name: backend.name, hint }],
      call: (_name, args) => session.run(args),
      close: () => session.close(),
    };
  };
}

/** `work`, or the signal's reason as soon as it aborts (the work itself goes on until its owner stops it). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

export class ToolSet {
  private closed = false;

  private constructor(
    private readonly sources: readonly ToolSource[],
    private readonly owners: ReadonlyMap<string, ToolSource>,
  ) {}

  /**
   * Opens every source at once. When one fails, the others are closed once they are open and the first failure (in
   * source order) is thrown: the request then fails before its first byte. Two sources offering the same name is a
   * bug (MCP names are chosen around the names passed as `reserved`), refused the same way.
   */
  static async open(openers: readonly (() => Promise<ToolSource>)[]): Promise<ToolSet> {
    const settled = await Promise.allSettled(openers.map((open) => open()));
    const sources = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const owners = new Map<string, ToolSource>();
    let failure: { reason: unknown } | undefined = settled.find((s) => s.status === "rejected");
    for (const source of failure ? [] : sources) {
      for (const tool of source.tools) {
        if (owners.has(tool.name)) failure ??= { reason: new Error(`two tool sources offer '${tool.name}'`) };
        owners.set(tool.name, source);
      }
    }
    if (failure) {
      await Promise.all(sources.map((s) => s.close()));
      throw failure.reason;
    }
    return new ToolSet(sources, owners);
  }

  /** The function tools for the model, source by source. */
  get definitions(): FunctionToolDefinition[] {
    return this.sources.flatMap((s) => s.tools);
  }

  /** The purpose block's lines, source by source. */
  get hints(): PurposeLine[] {
    return this.sources.flatMap((s) => s.hints);
  }

  /** True when the gateway runs this function name (the model's call is "owned"). */
  owns(name: string): boolean {
    return this.owners.has(name);
  }

  /** What a call of this name is priced as; undefined when the name is not the gateway's. */
  kindOf(name: string): ToolKind | undefined {
    return this.owners.get(name)?.kind;
  }

  /**
   * Runs one owned call. Throws what its source throws (see ToolSource.call) and, when `signal` aborts, its reason at
   * once, also for sources that do not watch the signal themselves (closing the set then ends the work).
   */
  call(name: string, args: unknown, signal?: AbortSignal): Promise<string> {
    const source = this.owners.get(name);
    if (!source) return Promise.reject(new Error(`no gateway tool is named '${name}'`));
    const running = source.call(name, args, signal);
    return signal ? untilAborted(running, signal) : running;
  }

  /** Closes every source (never throws; safe to call twice). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.sources.map((s) => s.close().catch(() => undefined)));
  }
}
