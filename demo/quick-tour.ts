/**
 * The quick tour's client half (demo/quick-tour.sh runs it): the official openai SDK, unchanged, pointed at the
 * gateway with a virtual key. One call (its cost and the budget left come back as headers), one stream (the usage
 * chunk carries `cost_usd`). Exits 1 when something is not as the tour says.
 *
 *   GATEWAY_URL=http://127.0.0.1:8000 GATEWAY_KEY=gw-... [MODEL=openai:gpt-4o-mini] bun demo/quick-tour.ts
 */
import OpenAI from "openai";

const url = process.env.GATEWAY_URL ?? "http://127.0.0.1:8000";
const apiKey = process.env.GATEWAY_KEY;
const model = process.env.MODEL ?? "openai:gpt-4o-mini";
if (!apiKey) {
  console.error("set GATEWAY_KEY to a virtual key (gw-...)");
  process.exit(2);
}
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });

const { data, response } = await client.chat.completions
  .create({ model, messages: [{ role: "user", content: "Say hello to the quick tour." }] })
  .withResponse();
const answer = data.choices[0]?.message.content ?? "";
console.log(`chat:   ${JSON.stringify(answer)}`);
console.log(`        tokens in/out ${data.usage?.prompt_tokens}/${data.usage?.completion_tokens}`);
console.log(`        X-Gateway-Cost-USD: ${response.headers.get("x-gateway-cost-usd")}`);
console.log(`        X-Gateway-Budget-Remaining-USD: ${response.headers.get("x-gateway-budget-remaining-usd")}`);

process.stdout.write("stream: ");
let streamed = "";
let streamCost: number | null = null;
const stream = await client.chat.completions.create({
  model,
  stream: true,
  stream_options: { include_usage: true },
  messages: [{ role: "user", content: "Stream a few words." }],
});
for await (const chunk of stream) {
  const delta = chunk.choices[0]?.delta.content ?? "";
  streamed += delta;
  process.stdout.write(delta);
  // The gateway adds the request's cost to the usage chunk.
  const usage: unknown = chunk.usage;
  if (usage && typeof usage === "object" && "cost_usd" in usage && typeof usage.cost_usd === "number") streamCost = usage.cost_usd;
}
console.log(`\n        usage chunk cost_usd: ${streamCost}`);

const ok = answer.length > 0 && response.headers.get("x-gateway-cost-usd") !== null && streamed.length > 0 && streamCost !== null;
if (!ok) {
  console.error("quick tour: the gateway's answers were not as expected");
  process.exit(1);
}
