import { type MockScenario, parseScenario } from "./scenario.ts";
import { json } from "./server.ts";

/**
 * OpenAI's Batch API on the OpenAI mock (https://platform.openai.com/docs/api-reference/batch): POST /files
 * (multipart, purpose `batch`), POST/GET /batches, GET /batches/{id}, POST /batches/{id}/cancel, GET
 * /files/{id}/content. A batch is `in_progress` when created and at its first retrieval, and `completed` from its
 * second one on; its output file then answers each request line as the chat mock answers its body's model, with
 * the scenario tokens of the model and the line's custom_id (`req-1+error-429` gets that status and the error
 * body), one JSON line each. Results are sent in small
 * pieces, as a large file would arrive.
 */

type Obj = Record<string, unknown>;
/** The chat mock's JSON answer for a request body (openai-mock.ts). */
export type ChatAnswer = (model: string, s: MockScenario, body: Obj) => Response;

interface MockBatch {
  batch: Obj;
  lines: { custom_id: string; body: Obj }[];
  retrievals: number;
}

export function createBatchStore(answer: ChatAnswer) {
  const files = new Map<string, string>();
  const batches = new Map<string, MockBatch>();
  let seq = 0;
  const now = () => Math.floor(Date.now() / 1000);

  async function complete(b: MockBatch): Promise<void> {
    const out: string[] = [];
    for (const line of b.lines) {
      const model = typeof line.body["model"] === "string" ? line.body["model"] : "";
      const s = parseScenario(`${model}+${line.custom_id}`);
      const res = answer(model, s, { ...line.body, stream: false });
      const body = (await res.json()) as unknown;
      out.push(
        JSON.stringify({
          id: `batch_req_${++seq}`,
          custom_id: line.custom_id,
          response: { status_code: res.status, request_id: `req_${seq}`, body },
          error: null,
        }),
      );
    }
    const outputId = `file-out-${++seq}`;
    files.set(outputId, `${out.join("\n")}\n`);
    const total = b.lines.length;
    const failed = out.filter((l) => !l.includes('"status_code":200')).length;
    Object.assign(b.batch, {
      status: "completed",
      output_file_id: outputId,
      completed_at: now(),
      request_counts: { total, completed: total - failed, failed },
    });
  }

  const notFound = (what: string) =>
    json({ error: { message: `No ${what} found`, type: "invalid_request_error", param: null, code: null } }, 404);

  return {
    /** Answers a batch or file path under the API base, or null when the path is not one of them. */
    async handle(req: Request, path: string, rawBody: string, body: Obj): Promise<Response | null> {
      if (path === "/files" && req.method === "POST") {
        const form = await new Response(rawBody, {
          headers: { "content-type": req.headers.get("content-type") ?? "" },
        }).formData();
        const file = form.get("file");
        if (form.get("purpose") !== "batch" || !(file instanceof Blob))
          return json({ error: { message: "purpose must be batch", type: "invalid_request_error" } }, 400);
        const id = `file-in-${++seq}`;
        files.set(id, await file.text());
        return json({ id, object: "file", purpose: "batch", bytes: file.size, created_at: now(), filename: "x" });
      }
      const content = path.match(/^\/files\/([^/]+)\/content$/);
      if (content) {
        const text = files.get(decodeURIComponent(content[1]!));
        if (text === undefined) return notFound("file");
        const bytes = new TextEncoder().encode(text);
        const pieces = new ReadableStream<Uint8Array>({
          start(c) {
            for (let i = 0; i < bytes.length; i += 64) c.enqueue(bytes.subarray(i, i + 64));
            c.close();
          },
        });
        return new Response(pieces, { headers: { "content-type": "application/octet-stream" } });
      }
      if (path === "/batches" && req.method === "POST") {
        const input = files.get(String(body["input_file_id"]));
        if (input === undefined) return notFound("input file");
        const lines = input
          .split("\n")
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l) as { custom_id: string; body: Obj });
        const id = `batch_${++seq}`;
        const batch: Obj = {
          id,
          object: "batch",
          endpoint: body["endpoint"],
          input_file_id: body["input_file_id"],
          completion_window: body["completion_window"],
          status: "in_progress",
          output_file_id: null,
          error_file_id: null,
          created_at: now(),
          request_counts: { total: lines.length, completed: 0, failed: 0 },
          metadata: body["metadata"] ?? null,
        };
        batches.set(id, { batch, lines, retrievals: 0 });
        return json(batch);
      }
      if (path === "/batches" && req.method === "GET") {
        const url = new URL(req.url);
        const all = [...batches.values()].map((b) => b.batch).reverse();
        const after = url.searchParams.get("after");
        const from = after ? all.findIndex((b) => b["id"] === after) + 1 : 0;
        const limit = Number(url.searchParams.get("limit") ?? 20);
        const data = all.slice(from, from + limit);
        return json({
          object: "list",
          data,
          first_id: data[0]?.["id"] ?? null,
          last_id: data.at(-1)?.["id"] ?? null,
          has_more: from + limit < all.length,
        });
      }
      const one = path.match(/^\/batches\/([^/]+)(\/cancel)?$/);
      if (!one) return null;
      const b = batches.get(decodeURIComponent(one[1]!));
      if (!b) return notFound("batch");
      if (one[2]) {
        if (b.batch["status"] === "in_progress") Object.assign(b.batch, { status: "cancelled", cancelled_at: now() });
        return json(b.batch);
      }
      if (++b.retrievals >= 2 && b.batch["status"] === "in_progress") await complete(b);
      return json(b.batch);
    },
  };
}
