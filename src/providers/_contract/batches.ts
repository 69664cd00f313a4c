import { describe, expect, test } from "bun:test";
import type { BatchResultItem } from "../../core/wire/index.ts";
import { MOCK_TEXT, MOCK_USAGE, type MockServer } from "../_mocks/index.ts";
import type { Capable } from "../capabilities.ts";
import type { ProviderSettings } from "../types.ts";
import { API_KEY, type ContractTarget, VERSION, expectMapped, gatewayError } from "./harness.ts";

/**
 * Batches: create (the requests uploaded as the provider takes them), retrieve until done, list, cancel, and the
 * results read line by line with each request's usage or error; every status the provider uses, mapped.
 */
export function batchesContract(
  t: ContractTarget,
  e: { createCalls: string[]; keepsMetadata: boolean },
  p: Capable<"batches">,
  mock: () => MockServer,
  settingsFor: (m: MockServer, over?: Partial<ProviderSettings>) => ProviderSettings,
): void {
  // the mock answers each line by the scenario tokens of its custom_id
  const create = (m: MockServer, ids: string[]) =>
    p.createBatch(
      {
        model: "gpt-4o-mini",
        requests: ids.map((custom_id, i) => ({
          custom_id,
          body: { messages: [{ role: "user", content: `Hi ${i}` }], max_tokens: 5 },
        })),
        completion_window: "24h",
        metadata: { job: "contract" },
      },
      settingsFor(m),
    );

  describe("batches", () => {
    test("create sends the requests as the provider takes them; the batch is answered as OpenAI's Batch", async () => {
      const m = mock();
      const before = m.requests.length;
      const batch = await create(m, ["req-0"]);
      expect(batch.id).toBeTruthy();
      expect(batch.status).toBe("in_progress");
      expect(batch.request_counts?.total).toBe(1);
      expect(batch.metadata ?? null).toEqual(e.keepsMetadata ? { job: "contract" } : null);
      const sent = m.requests.slice(before);
      expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual(e.createCalls);
      for (const r of sent) {
        expect(t.credentialOf(r)).toContain(API_KEY);
        expect(r.headers["user-agent"]).toBe(`otari-gateway/${VERSION}`);
      }
      const wire = sent.map((r) => r.text).join("\n");
      expect(wire).toContain('"custom_id":"req-0"');
      expect(wire).toContain('"model":"gpt-4o-mini"');
      expect(wire).toContain("Hi 0");
    });

    test("retrieve until completed, then the results: one item per request with its usage or its error", async () => {
      const m = mock();
      const created = await create(m, ["req-0", "req-1+error-429", "req-2"]);
      expect((await p.retrieveBatch(created.id, settingsFor(m))).status).toBe("in_progress");
      const done = await p.retrieveBatch(created.id, settingsFor(m));
      expect(done.status).toBe("completed");
      const items: BatchResultItem[] = [];
      for await (const item of await p.batchResults(done, settingsFor(m))) items.push(item);
      expect(items.map((i) => i.custom_id)).toEqual(["req-0", "req-1+error-429", "req-2"]);
      expect((items[0]!.result as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe(
        MOCK_TEXT,
      );
      expect(items[0]?.usage).toMatchObject({
        promptTokens: MOCK_USAGE.prompt,
        completionTokens: MOCK_USAGE.completion,
      });
      expect(items[1]).toMatchObject({ result: null, usage: null });
      expect(items[1]?.error?.code).toBeTruthy();
      expect(items[1]?.error?.message.length).toBeGreaterThan(0);
    });

    test("list pages with after/limit; cancel answers the batch cancelled", async () => {
      const m = mock();
      const a = await create(m, ["req-0"]);
      const b = await create(m, ["req-0"]);
      const page = await p.listBatches({ limit: 1 }, settingsFor(m));
      expect(page.data.map((x) => x.id)).toEqual([b.id]);
      expect(page.has_more).toBe(true);
      const next = await p.listBatches({ after: b.id, limit: 1 }, settingsFor(m));
      expect(next.data.map((x) => x.id)).toEqual([a.id]);
      expect((await p.cancelBatch(a.id, settingsFor(m))).status).toBe("cancelled");
    });

    // A batch call names no model, so the mock's default scenario carries the status.
    for (const status of t.errorStatuses)
      test(`upstream ${status} is mapped on every batch call`, async () => {
        const m = mock();
        m.setScenario(`error-${status}`);
        try {
          for (const call of [
            () => p.retrieveBatch("batch_x", settingsFor(m)),
            () => p.cancelBatch("batch_x", settingsFor(m)),
            () => p.listBatches({}, settingsFor(m)),
            () => create(m, ["req-0"]),
          ])
            expectMapped(await gatewayError(call()), status, "inference", t.retryHint ?? true);
        } finally {
          m.setScenario(null);
        }
      });
  });
}
