import { MOCK_EMBEDDING } from "./openai-mock.ts";
import { rankDocuments, rerankInput, rerankTokens } from "./rerank-wire.ts";
import { json, type MockHandler, type MockOptions, type MockServer, startMockServer } from "./server.ts";

/**
 * A Voyage AI upstream (https://docs.voyageai.com/reference/embeddings-api): POST /v1/embeddings and /v1/rerank, with
 * `Authorization: Bearer` (else 401). The body takes `input` (a string or strings), `model`, `input_type`
 * (null | query | document), `truncation`, `output_dimension`, `output_dtype` and `encoding_format` (null or
 * "base64"); a value outside those is a 400. The answer is OpenAI-shaped with `usage: {total_tokens}` only (2 tokens
 * per input here). Errors are `{"detail": "..."}`.
 */

const DETAILS: Record<number, string> = {
  400: "Invalid request: sk-proj-abcdef1234567890XYZ was sent with Bearer abc.def.ghi",
  401: "Provided API key is invalid.",
  403: "Forbidden",
  429: "You have exceeded the rate limit for the embedding model.",
  500: "Internal server error",
  503: "Service unavailable",
};

const detail = (status: number, text = DETAILS[status] ?? "Internal server error") => json({ detail: text }, status);

/** A body refused as Voyage would, or null. */
function refusal(body: Record<string, unknown>): Response | null {
  const input = body["input"];
  const texts = typeof input === "string" || (Array.isArray(input) && input.every((t) => typeof t === "string"));
  if (!texts) return detail(400, "input must be a string or a list of strings");
  if (typeof body["model"] !== "string") return detail(400, "model is required");
  if (![undefined, null, "query", "document"].includes(body["input_type"] as string))
    return detail(400, "input_type must be null, 'query' or 'document'");
  if (![undefined, null, "base64"].includes(body["encoding_format"] as string))
    return detail(400, "encoding_format must be null or 'base64'");
  if (body["output_dimension"] !== undefined && !Number.isInteger(body["output_dimension"]))
    return detail(400, "output_dimension must be an integer");
  return null;
}

/**
 * https://docs.voyageai.com/reference/reranker-api: `{query, documents, model, top_k?, return_documents?,
 * truncation?}` (no `top_n`: an unknown field is a 400) -> `{object: "list", data: [{relevance_score, index}], model,
 * usage: {total_tokens}}`.
 */
function rerank(body: Record<string, unknown>, model: string): Response {
  const input = rerankInput(body);
  if (typeof input === "string") return detail(400, input);
  const known = new Set(["query", "documents", "model", "top_k", "return_documents", "truncation"]);
  const unknown = Object.keys(body).find((k) => !known.has(k));
  if (unknown) return detail(400, `Unexpected field: ${unknown}`);
  const topK = typeof body["top_k"] === "number" ? body["top_k"] : null;
  return json({
    object: "list",
    data: rankDocuments(input.query, input.documents, topK),
    model,
    usage: { total_tokens: rerankTokens(input.query, input.documents) },
  });
}

export function startVoyageMock(options: MockOptions = {}): MockServer {
  const handler: MockHandler = ({ req, path, body, model, scenario: s }) => {
    if (!req.headers.get("authorization")?.startsWith("Bearer ")) return detail(401);
    if (s.errorStatus !== null) return detail(s.errorStatus);
    if (path === "/v1/rerank" && req.method === "POST") return rerank(body, model);
    if (path !== "/v1/embeddings" || req.method !== "POST") return json({ detail: "Not Found" }, 404);
    const refused = refusal(body);
    if (refused) return refused;
    if (s.malformed)
      return new Response('{"object": "list", "data": [', { headers: { "content-type": "application/json" } });
    const inputs = Array.isArray(body["input"]) ? body["input"] : [body["input"]];
    const vector =
      body["encoding_format"] === "base64"
        ? Buffer.from(new Float32Array(MOCK_EMBEDDING).buffer).toString("base64")
        : [...MOCK_EMBEDDING];
    return json({
      object: "list",
      data: inputs.map((_, index) => ({ object: "embedding", embedding: vector, index })),
      model,
      usage: { total_tokens: 2 * inputs.length },
    });
  };
  return startMockServer(options, "/v1", handler);
}
