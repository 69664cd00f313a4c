/** /metrics (SPEC §12, §13 item 61): off by default, every documented metric after one request of each kind. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import { MASTER_KEY, startTestGateway, type TestGateway } from "../helpers/gateway";
import { parsePrometheus } from "../helpers/prometheus";

const has = (metrics: Map<string, number>, name: string, ...labels: string[]) =>
  [...metrics.keys()].some((k) => k.startsWith(`${name}{`) && labels.every((l) => k.includes(l)));

describe("metrics", () => {
  let db: TestDatabase;
  let gw: TestGateway;
  beforeAll(async () => {
    db = await createSqliteDatabase();
    gw = await startTestGateway(db, {
      enable_metrics: true,
      rate_limit_rpm: 3,
      pricing: { "openai:gpt-4o": { input_price_per_million: 1, output_price_per_million: 2 } },
    });
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
  });

  test("is 404 unless enabled", async () => {
    const db2 = await createSqliteDatabase();
    const off = await startTestGateway(db2);
    expect((await fetch(`${off.base}/metrics`)).status).toBe(404);
    await off.close();
    await db2.drop();
  });

  test("exposes every documented metric with its labels after traffic", async () => {
    const { key } = await gw.createKey({ user_id: "metrics-user" });
    const client = new OpenAI({ baseURL: `${gw.base}/v1`, apiKey: key, maxRetries: 0 });
    await client.chat.completions.create({ model: "openai:gpt-4o", messages: [{ role: "user", content: "hi" }] });
    const stream = await client.chat.completions.create({
      model: "openai:gpt-4o",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    for await (const _ of stream) {
      // drain
    }
    await client.embeddings.create({ model: "openai:text-embedding-3-small", input: "x" });
    await client.chat.completions
      .create({ model: "openai:gpt-4o", messages: [{ role: "user", content: "hi" }] })
      .catch(() => undefined);
    await fetch(`${gw.base}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: "Bearer gw-notarealkeybutlongenoughtopasstheformatcheck0123456789",
        "content-type": "application/json",
      },
      body: JSON.stringify({ model: "openai:gpt-4o", messages: [{ role: "user", content: "x" }] }),
    });
    await fetch(`${gw.base}/v1/keys/does-not-exist`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    await fetch(`${gw.base}/nope/${crypto.randomUUID()}`);
    await gw.usage();
    const res = await fetch(`${gw.base}/metrics`);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const m = parsePrometheus(await res.text());
    expect(has(m, "gateway_requests_total", 'method="POST"', 'endpoint="/v1/chat/completions"', 'status="200"')).toBe(
      true,
    );
    expect(has(m, "gateway_requests_total", 'endpoint="/v1/keys/{key_id}"', 'status="404"')).toBe(true);
    expect(has(m, "gateway_requests_total", 'endpoint="unmatched"')).toBe(true);
    expect(has(m, "gateway_request_duration_seconds_count", 'endpoint="/v1/chat/completions"')).toBe(true);
    expect(has(m, "gateway_active_requests")).toBe(true);
    expect(has(m, "gateway_tokens_total", 'provider="openai"', 'model="gpt-4o"', 'type="input"')).toBe(true);
    expect(has(m, "gateway_tokens_total", 'type="output"')).toBe(true);
    expect(has(m, "gateway_request_cost_dollars_count", 'provider="openai"')).toBe(true);
    expect(m.get("gateway_rate_limit_hits_total{}")).toBeGreaterThanOrEqual(1);
    expect(has(m, "gateway_auth_failures_total", 'reason="invalid_key"')).toBe(true);
    expect(has(m, "gateway_usage_log_queue_depth")).toBe(true);
    expect(has(m, "gateway_usage_log_batch_size_count", 'writer="batch"')).toBe(true);
    expect(has(m, "gateway_usage_log_flush_duration_seconds_count", 'result="ok"')).toBe(true);
    expect(has(m, "gateway_usage_log_rows_total", 'result="written"')).toBe(true);
    expect(has(m, "gateway_budget_exceeded_total")).toBe(true);
    expect(has(m, "gateway_budget_reservations_released_total")).toBe(true);
    expect(has(m, "gateway_stream_disconnects_total")).toBe(true);
    expect(has(m, "process_resident_memory_bytes")).toBe(true);
    expect(m.get("gateway_db_statements{}")).toBeGreaterThan(0);
    expect([...m.keys()].some((k) => k.includes("/metrics"))).toBe(false);
  });
});
