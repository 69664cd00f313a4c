/**
 * Batches (docs/api.md#batches): a batch of chat completions handed to a provider's batch API, owned by the caller
 * that created it. Not an inference-pipeline endpoint: nothing is generated while the request lasts, and the
 * budget hold must outlive it. What the pipeline's admission checks for a request is checked here for the batch
 * (the key's user, blocked, allow-lists, limits, pricing), and the batch's estimated cost is held durably on every
 * capped level of its path, key, user and team (governance/batch-holds.ts), until its results are read: then one usage
 * row per result is written and the holds are settled against the real cost on every level, once, whichever process
 * reads them.
 */
import { and, eq, inArray } from "drizzle-orm";
import { GatewayError, conflict, forbidden, notFound } from "../../core/errors";
import { costMicros } from "../../core/money";
import {
  type Batch,
  type BatchList,
  type BatchResultItem,
  type CreateBatchRequest,
  TERMINAL_BATCH_STATUSES,
} from "../../core/wire/index";
import type { Store } from "../../db/client";
import { supports } from "../../providers/capabilities";
import type { Capable } from "../../providers/capabilities";
import { timeOrderedUuid } from "../../runtime/crypto";
import type { Caller } from "../auth";
import type { BatchHolds } from "../governance/batch-holds";
import type { CostControl } from "../governance/cost-control";
import { budgetRefusal, type SubjectRef } from "../governance/subjects";
import type { UsageRowInsert } from "../governance/usage-writer";
import { estimateTokens } from "./estimate";
import type { Price, PriceBook } from "./prices";
import type { Route, Router } from "./routing";
import { allowed } from "./standalone/policy";
import { usageRow } from "./standalone/usage-row";
import type { UserDirectory } from "./user-directory";

export const BATCHES_ENDPOINT = "/v1/batches";
/** How long past its completion window a hold is kept for results that are read late. */
const HOLD_GRACE_MS = 24 * 3600_000;

export interface BatchesDeps {
  store: Store;
  router: Router;
  users: UserDirectory;
  prices: PriceBook;
  holds: BatchHolds;
  costControl: Pick<CostControl, "resolve" | "limit">;
  usage: { enqueue(row: UsageRowInsert): void };
  now: () => Date;
  settings: {
    budgetsEnabled: boolean;
    requirePricing: boolean;
    defaultOutputTokens: number;
  };
}

interface BatchRow {
  provider: string;
  model: string;
  userId: string | null;
  apiKeyId: string | null;
  createdAt: Date;
}

/** `24h` -> milliseconds (the request schema admits whole hours only). */
const windowMs = (window: string): number => Number.parseInt(window, 10) * 3600_000;

/** One request's reservation estimate, as the chat endpoint estimates it. */
function itemEstimate(body: Record<string, unknown>, price: Price, defaultOutput: number): number {
  const cap = body["max_completion_tokens"] ?? body["max_tokens"];
  const n = body["n"];
  const e = estimateTokens(
    [body["messages"], body["tools"]],
    typeof cap === "number" ? cap : null,
    defaultOutput,
    typeof n === "number" ? n : 1,
  );
  return costMicros(e.promptTokens, e.outputTokens, price.inputRate, price.outputRate);
}

const resultStatus = (item: BatchResultItem): number => {
  const code = Number(item.error?.code);
  return item.error ? (Number.isInteger(code) && code >= 400 && code < 600 ? code : 502) : 200;
};

export function createBatchesService(deps: BatchesDeps) {
  const { store, router } = deps;
  const { db, t } = store;

  /** The provider's route, answering 400 for an unknown provider and 422 for one without batches. */
  function batchRoute(provider: string, model: string): { route: Route; provider: Capable<"batches"> } {
    const route = router.route(`${provider}:${model}`);
    if (!supports(route.provider, "batches"))
      throw new GatewayError(422, `Provider '${route.providerName}' does not support batch operations`, {
        code: "unsupported_provider",
      });
    return { route, provider: route.provider };
  }

  /** The key's user (null with the master key), checked as the pipeline checks it. */
  async function callerUser(caller: Caller) {
    if (caller.kind === "master") return null;
    const userId = caller.key.userId;
    if (!userId) throw new GatewayError(500, "API key has no associated user", { code: "internal_error" });
    const user = await deps.users.get(userId);
    if (!user || user.deleted) throw notFound(`User '${userId}' not found`, "user_not_found");
    if (user.blocked) throw forbidden(`User '${userId}' is blocked`, "user_blocked");
    return user;
  }

  /** The batch this caller created through the gateway; 404 for any other (another user's included). */
  async function owned(caller: Caller, providerName: string, batchId: string): Promise<BatchRow> {
    const rows = await db
      .select()
      .from(t.batches)
      .where(and(eq(t.batches.provider, providerName), eq(t.batches.batchId, batchId)))
      .limit(1);
    const row = rows[0];
    if (!row || (caller.kind === "key" && row.userId !== caller.key.userId))
      throw notFound(`Batch '${batchId}' not found`, "batch_not_found");
    return row;
  }

  return {
    async create(caller: Caller, req: CreateBatchRequest): Promise<Batch> {
      const window = windowMs(req.completion_window);
      const plan = router.plan(req.model);
      const target = plan.targets[0]!;
      const { route, provider } = batchRoute(target.providerName, target.model);
      const user = await callerUser(caller);
      const key = caller.kind === "key" ? caller.key : null;
      const path = user ? await deps.costControl.resolve({ key, user, endUserId: null }) : null;
      // Creating a batch is one request against every level's RPM and rules (its tokens are the provider's later);
      // it keeps no concurrency slot.
      if (path) (await deps.costControl.limit(path, target.providerName, target.model)).release(0);
      if (path && !path.allowLists.every((l) => allowed(l, target.providerName, target.model)))
        throw forbidden(
          `Model '${target.providerName}:${target.model}' is not allowed for this key`,
          "model_not_allowed",
        );
      const now = deps.now();
      const price = await deps.prices.lookup(target.pricingKeys, now.getTime());
      if (!price && deps.settings.requirePricing)
        throw new GatewayError(402, `No pricing configured for model '${target.providerName}:${target.model}'`, {
          code: "pricing_not_configured",
        });
      let estimate = 0;
      if (price)
        for (const r of req.requests) estimate += itemEstimate(r.body, price, deps.settings.defaultOutputTokens);

      let holdId: string | null = null;
      // A batch has no end user: its path is key, user and team; every capped one holds the estimate.
      const levels =
        path && deps.settings.budgetsEnabled && price && !price.free
          ? path.budgets.flatMap((b) =>
              b.maxMicros === null ? [] : [{ kind: b.kind, id: b.id, capMicros: b.maxMicros, label: b.label }],
            )
          : [];
      if (levels.length > 0) {
        holdId = `batch:${timeOrderedUuid()}`;
        const refused = await deps.holds.hold({
          holdId,
          levels,
          amountMicros: estimate,
          now,
          expiresAt: new Date(now.getTime() + window + HOLD_GRACE_MS),
        });
        if (refused) throw budgetRefusal(refused.kind, refused.label);
      }
      let batch: Batch;
      try {
        const requests = req.requests.map(({ custom_id, body }) => {
          const { model: _model, stream: _stream, ...rest } = body;
          return { custom_id, body: rest };
        });
        batch = await provider.createBatch(
          { model: target.model, requests, completion_window: req.completion_window, metadata: req.metadata },
          route.settings,
        );
      } catch (err) {
        if (holdId) await deps.holds.release(holdId);
        throw err;
      }
      await db.insert(t.batches).values({
        provider: target.providerName,
        batchId: batch.id,
        model: target.model,
        userId: user?.userId ?? null,
        apiKeyId: caller.kind === "key" ? caller.key.id : null,
        requestCount: req.requests.length,
        estimateMicros: estimate,
        reservationId: holdId,
        createdAt: now,
      });
      return batch;
    },

    async retrieve(caller: Caller, providerName: string, batchId: string): Promise<Batch> {
      const { route, provider } = batchRoute(providerName, "batch");
      await owned(caller, route.providerName, batchId);
      return provider.retrieveBatch(batchId, route.settings);
    },

    async cancel(caller: Caller, providerName: string, batchId: string): Promise<Batch> {
      const { route, provider } = batchRoute(providerName, "batch");
      await owned(caller, route.providerName, batchId);
      return provider.cancelBatch(batchId, route.settings);
    },

    /** The provider's page, narrowed to the batches this caller created (the master key sees every one). */
    async list(caller: Caller, providerName: string, q: { after?: string; limit?: number }): Promise<BatchList> {
      const { route, provider } = batchRoute(providerName, "batch");
      const page = await provider.listBatches(q, route.settings);
      const ids = page.data.map((b) => b.id);
      const mine = ids.length
        ? await db
            .select({ id: t.batches.batchId, userId: t.batches.userId })
            .from(t.batches)
            .where(and(eq(t.batches.provider, route.providerName), inArray(t.batches.batchId, ids)))
        : [];
      const visible = new Set(
        mine.filter((r) => caller.kind === "master" || r.userId === caller.key.userId).map((r) => r.id),
      );
      return { ...page, data: page.data.filter((b) => visible.has(b.id)) };
    },

    /**
     * A finished batch's results as JSON text pieces, `{"results": [...]}`, sent as the provider's file is read.
     * Once the last one is out, the batch is settled: its usage rows written and its hold exchanged for its cost.
     * A client that leaves early settles nothing; the next full read does.
     */
    async results(
      caller: Caller,
      providerName: string,
      batchId: string,
      requestId: string,
    ): Promise<AsyncIterable<string>> {
      const { route, provider } = batchRoute(providerName, "batch");
      const row = await owned(caller, route.providerName, batchId);
      const batch = await provider.retrieveBatch(batchId, route.settings);
      if (!TERMINAL_BATCH_STATUSES.has(batch.status))
        throw conflict(`Batch '${batchId}' is not yet complete (status: ${batch.status})`, "batch_not_complete");
      const items = await provider.batchResults(batch, route.settings);
      const price = await deps.prices.lookup(
        [`${row.provider}:${row.model}`, `${row.provider}/${row.model}`],
        row.createdAt.getTime(),
      );
      // The levels charged: the key, its user and the user's team as they are now (a batch outlives its request).
      const owner = row.userId ? await deps.users.get(row.userId) : null;
      const teamId = owner?.teamId ?? null;
      const charge: SubjectRef[] = [];
      if (row.apiKeyId) charge.push({ kind: "key", id: row.apiKeyId });
      if (row.userId) charge.push({ kind: "user", id: row.userId });
      if (teamId) charge.push({ kind: "team", id: teamId });
      return (async function* pieces(): AsyncGenerator<string> {
        const rows: UsageRowInsert[] = [];
        let total = 0;
        let first = true;
        yield '{"results":[';
        for await (const item of items) {
          const { usage, ...out } = item;
          const cost =
            usage && price
              ? costMicros(usage.promptTokens ?? 0, usage.completionTokens ?? 0, price.inputRate, price.outputRate)
              : null;
          total += cost ?? 0;
          const status = resultStatus(item);
          rows.push(
            usageRow({
              requestId,
              endpoint: BATCHES_ENDPOINT,
              apiKeyId: row.apiKeyId,
              userId: row.userId,
              teamId,
              endUserId: null,
              timestamp: deps.now(),
              provider: row.provider,
              model: row.model,
              status: item.error ? "error" : "success",
              statusCode: status,
              errorMessage: item.error?.message ?? null,
              usage: usage
                ? {
                    prompt: usage.promptTokens,
                    completion: usage.completionTokens,
                    total: usage.totalTokens,
                    source: usage,
                  }
                : undefined,
              costMicros: cost,
            }),
          );
          yield `${first ? "" : ","}${JSON.stringify(out)}`;
          first = false;
        }
        yield "]}";
        const won = await deps.holds.settle({
          provider: row.provider,
          batchId,
          charge,
          costMicros: total,
          now: deps.now(),
        });
        if (won) for (const r of rows) deps.usage.enqueue(r);
      })();
    },
  };
}

export type BatchesService = ReturnType<typeof createBatchesService>;
