/** Label values that come from clients stay bounded: past MODEL_LABEL_LIMIT distinct models, the rest share one. */
import { expect, test } from "bun:test";
import type { UsageRowInsert } from "../services/governance";
import { createRecorder, MODEL_LABEL_LIMIT, OTHER_MODEL } from "./registry";

const row = (model: string, costMicros: number | null = 10): UsageRowInsert => ({
  id: crypto.randomUUID(),
  userId: "u",
  apiKeyId: null,
  timestamp: new Date(),
  model,
  provider: "openai",
  endpoint: "/v1/chat/completions",
  status: "success",
  statusCode: 200,
  promptTokens: 3,
  completionTokens: 2,
  costMicros,
});

test("model label: each model its own series up to the limit, then `other`; models already labelled keep theirs", async () => {
  const recorder = createRecorder();
  for (let i = 0; i < MODEL_LABEL_LIMIT + 50; i++) recorder.settled(row(`model-${i}`, i % 2 ? null : 10));
  recorder.settled(row("model-0"));
  const text = await recorder.registry.metrics();
  const models = new Set([...text.matchAll(/gateway_tokens_total\{[^}]*model="([^"]*)"/g)].map((m) => m[1]));
  expect(models.size).toBe(MODEL_LABEL_LIMIT + 1);
  expect(models.has(OTHER_MODEL)).toBe(true);
  expect(models.has(`model-${MODEL_LABEL_LIMIT}`)).toBe(false);
  expect(text).toContain(`gateway_tokens_total{provider="openai",model="${OTHER_MODEL}",type="input"} ${50 * 3}`);
  expect(text).toContain('gateway_tokens_total{provider="openai",model="model-0",type="input"} 6');
  const costModels = new Set(
    [...text.matchAll(/gateway_request_cost_dollars_count\{[^}]*model="([^"]*)"/g)].map((m) => m[1]),
  );
  expect(costModels.size).toBeLessThanOrEqual(MODEL_LABEL_LIMIT + 1);
});

test("spend alert outcomes are counted by result", async () => {
  const recorder = createRecorder();
  recorder.spendAlert("retry");
  recorder.spendAlert("retry");
  recorder.spendAlert("delivered");
  const text = await recorder.registry.metrics();
  expect(text).toContain('gateway_spend_alerts_total{result="retry"} 2');
  expect(text).toContain('gateway_spend_alerts_total{result="delivered"} 1');
});
