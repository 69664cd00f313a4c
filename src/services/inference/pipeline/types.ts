/** The values that flow through the pipeline (run.ts): where a call goes, what its attempts came to, how it ended. */
import type { UnitQuantities } from "../../../core/schemas/pricing";
import type { NormalizedUsage } from "../../../core/wire/index";
import type { Provider, ProviderSettings } from "../../../providers/types";
import type { PumpEnd } from "./sse-pump";

/** Where one upstream call goes: the adapter, the deployment's settings and the model name upstream. */
export interface Upstream {
  provider: Provider;
  /** The provider key or configured instance name (usage rows, error texts, the usage guard). */
  providerName: string;
  model: string;
  settings: ProviderSettings;
}

/** An upstream call that succeeded: its value, the route that served it and the number of the try that did. */
export interface Served<T, R> {
  ok: true;
  value: T;
  route: R;
  /** 1-based: the tries of this call up to and including the one that served. */
  attempt: number;
}

/** An upstream call no try could serve: the error the client gets, the route tried last (null: none) and the tries. */
export interface Unserved<R> {
  ok: false;
  error: unknown;
  route: R | null;
  attempts: number;
}

export type Attempted<T, R> = Served<T, R> | Unserved<R>;

/** How a request ended, for its settlement. `extraMicros`: gateway tool calls' cost (priced per call). */
export type Outcome =
  /**
   * A JSON answer. `usage` null: the provider reported none. `perRequest`: billed per request, not per token.
   * `units`: the quantities of other units the answer consumed (a model priced in one of them is billed by it).
   */
  | {
      kind: "answered";
      usage: NormalizedUsage | null;
      extraMicros: number;
      perRequest: boolean;
      units: UnitQuantities | null;
    }
  /** A stream that ended (normally, with an upstream error, or with the client gone). */
  | { kind: "streamed"; end: PumpEnd; extraMicros: number }
  /**
   * A request that failed after admission: refused before any try, failed in its tries, or failed in the gateway
   * after an upstream answer (a tool loop). `usage`: what was consumed before (a tool loop's rounds).
   */
  | { kind: "failed"; error: unknown; usage: NormalizedUsage | null; extraMicros: number; clientLeft: boolean };

/** What settlement decided: the cost (null: unpriced or not billed here) and the headers it adds to the reply. */
export interface Settlement {
  costMicros: number | null;
  headers: Record<string, string>;
}

/** One inference request as the HTTP layer hands it over: the caller, the validated body and query, the request. */
export interface InferenceCall<In, I, Q = undefined> {
  identity: I;
  body: In;
  query: Q;
  requestId: string;
  /** The client's request headers (per-call upstream headers such as `anthropic-beta`). */
  headers: Headers;
  /** Aborts when the client leaves (a tool loop then stops). */
  signal?: AbortSignal;
  /** The trace id, set by the pipeline (run.ts) when the request is traced; the route puts it on the reply. */
  traceId?: string;
}
