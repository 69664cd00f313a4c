import { type MockScenario, parseScenario } from "./scenario.ts";
import { json } from "./server.ts";

/**
 * Anthropic's Message Batches on the Anthropic mock (https://docs.anthropic.com/en/api/creating-message-batches):
 * POST/GET /v1/messages/batches, GET /v1/messages/batches/{id}, POST .../cancel, GET .../results (JSON lines). A
 * batch is `in_progress` when created and at its first retrieval, and `ended` from its second one on; each
 * request is answered as the messages mock answers its params, with the scenario tokens of its model and custom_id
 * (`req-1+error-429` is an `errored` result with that error type).
 */

type Obj = Record<string, unknown>;
/** The messages mock's JSON answer for a request's params (anthropic-mock.ts). */
export type MessageAnswer = (model: string, s: MockScenario, params: Obj) => Response;

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

interface MockBatch {
  batch: Obj;
  requests: { custom_id: string; params: Obj }[];
  retrievals: number;
  results: string | null;
}

export function createMessageBatchStore(answer: MessageAnswer) {
  const batches = new Map<string, MockBatch>();
  let seq = 0;
  const iso = () => new Date().toISOString();
  const counts = (processing: number, succeeded = 0, errored = 0, canceled = 0) => ({
    processing,
    succeeded,
    errored,
    canceled,
    expired: 0,
  });

  async function end(b: MockBatch, cancelled: boolean): Promise<void> {
    const lines: string[] = [];
    let ok = 0;
    let failed = 0;
    for (const r of b.requests) {
      const model = typeof r.params["model"] === "string" ? r.params["model"] : "";
      const s = parseScenario(`${model}+${r.custom_id}`);
      if (cancelled) {
        lines.push(JSON.stringify({ custom_id: r.custom_id, result: { type: "canceled" } }));
        continue;
      }
      if (s.errorStatus !== null) {
        failed++;
        const type = ERROR_TYPES[s.errorStatus] ?? "api_error";
        lines.push(
          JSON.stringify({
            custom_id: r.custom_id,
            result: { type: "errored", error: { type: "error", error: { type, message: `Mock ${type}` } } },
          }),
        );
        continue;
      }
      ok++;
      const message = (await answer(model, s, r.params).json()) as unknown;
      lines.push(JSON.stringify({ custom_id: r.custom_id, result: { type: "succeeded", message } }));
    }
    b.results = `${lines.join("\n")}\n`;
    Object.assign(b.batch, {
      processing_status: "ended",
      ended_at: iso(),
      request_counts: counts(0, ok, failed, cancelled ? b.requests.length : 0),
    });
  }

  const notFound = () => json({ type: "error", error: { type: "not_found_error", message: "Not found" } }, 404);

  return {
    /** Answers a Message Batches path, or null when the path is not one. */
    async handle(req: Request, path: string, body: Obj): Promise<Response | null> {
      const url = new URL(req.url);
      if (path === "/v1/messages/batches" && req.method === "POST") {
        const requests = (Array.isArray(body["requests"]) ? body["requests"] : []) as MockBatch["requests"];
        const id = `msgbatch_${++seq}`;
        const batch: Obj = {
          id,
          type: "message_batch",
          processing_status: "in_progress",
          request_counts: counts(requests.length),
          ended_at: null,
          created_at: iso(),
          expires_at: new Date(Date.now() + 86_400_000).toISOString(),
          cancel_initiated_at: null,
          results_url: null,
        };
        batches.set(id, { batch, requests, retrievals: 0, results: null });
        return json(batch);
      }
      if (path === "/v1/messages/batches" && req.method === "GET") {
        const all = [...batches.values()].map((b) => b.batch).reverse();
        const after = url.searchParams.get("after_id");
        const from = after ? all.findIndex((b) => b["id"] === after) + 1 : 0;
        const limit = Number(url.searchParams.get("limit") ?? 20);
        const data = all.slice(from, from + limit);
        return json({
          data,
          has_more: from + limit < all.length,
          first_id: data[0]?.["id"] ?? null,
          last_id: data.at(-1)?.["id"] ?? null,
        });
      }
      const m = path.match(/^\/v1\/messages\/batches\/([^/]+)(\/cancel|\/results)?$/);
      if (!m) return null;
      const b = batches.get(decodeURIComponent(m[1]!));
      if (!b) return notFound();
      if (m[2] === "/cancel") {
        if (b.batch["processing_status"] === "in_progress") {
          b.batch["cancel_initiated_at"] = iso();
          await end(b, true);
        }
        return json(b.batch);
      }
      if (m[2] === "/results") {
        if (b.results === null)
          return json({ type: "error", error: { type: "invalid_request_error", message: "Batch not ended" } }, 400);
        return new Response(b.results, { headers: { "content-type": "application/binary" } });
      }
      if (++b.retrievals >= 2 && b.batch["processing_status"] === "in_progress") await end(b, false);
      if (b.results !== null) b.batch["results_url"] = `${url.origin}/v1/messages/batches/${b.batch["id"]}/results`;
      return json(b.batch);
    },
  };
}
