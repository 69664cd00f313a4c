/**
 * GET /v1/models and /v1/models/{id} (docs/api.md#models): discovered provider models merged with priced models,
 * filtered by the caller's allow-lists. Discovery is cached per provider for `model_cache_ttl_seconds`, one refresh in
 * flight per provider; a failing provider is logged and skipped.
 */
import { notFound } from "../../core/errors";
import type { ModelListResponse, ModelObject } from "../../core/schemas/models";
import { logger } from "../../runtime/logger";
import type { ProviderModel } from "../../providers/types";
import type { Caller } from "../auth";
import type { PricingService } from "../pricing";
import { TOOL_PRICE_PROVIDER } from "./tool-loop/plan";
import type { Router } from "./routing";
import type { UserDirectory } from "./user-directory";

const log = logger("models");

interface CacheEntry {
  models: ProviderModel[];
  at: number;
}

export interface ModelsOptions {
  router: Router;
  pricing: PricingService;
  users: UserDirectory;
  /** A team's allow-list (null = every model, or no such team), from the cost-control directory's cache. */
  teamModels: (teamId: string) => Promise<readonly string[] | null>;
  discovery: boolean;
  ttlSeconds: number;
  /** Models named in config per provider (`providers.<name>.models`), listed with or without discovery. */
  configuredModels: Record<string, string[]>;
}

const matches = (list: readonly string[] | null, id: string) => {
  if (!list) return true;
  const provider = id.slice(0, id.indexOf(":"));
  return list.some((e) => e === id || e === `${provider}:*`);
};

export function createModelsService(o: ModelsOptions) {
  const cache = new Map<string, CacheEntry>();
  const refreshing = new Map<string, Promise<ProviderModel[]>>();

  async function discover(name: string): Promise<ProviderModel[]> {
    const hit = cache.get(name);
    if (hit && o.ttlSeconds > 0 && Date.now() - hit.at < o.ttlSeconds * 1000) return hit.models;
    let pending = refreshing.get(name);
    if (!pending) {
      pending = (async () => {
        try {
          const route = o.router.route(`${name}:_`);
          if (!route.provider.listModels) return [];
          const models = await route.provider.listModels(route.settings);
          cache.set(name, { models, at: Date.now() });
          return models;
        } catch (err) {
          log.warn(`Model discovery failed for provider '${name}'`, {
            error: err instanceof Error ? err.message : String(err),
          });
          return hit?.models ?? [];
        } finally {
          refreshing.delete(name);
        }
      })();
      refreshing.set(name, pending);
    }
    return pending;
  }

  /** Allow-lists of the caller: its key's, its user's and its user's team's (master: none). */
  async function allowLists(caller: Caller): Promise<(readonly string[] | null)[]> {
    if (caller.kind === "master") return [];
    const user = caller.key.userId ? await o.users.get(caller.key.userId) : null;
    const team = user?.teamId ? await o.teamModels(user.teamId) : null;
    return [caller.key.allowedModels, user?.allowedModels ?? null, team];
  }

  async function all(provider: string | undefined): Promise<Map<string, ModelObject>> {
    const byId = new Map<string, ModelObject>();
    if (o.discovery) {
      const names = o.router.configured().filter((n) => !provider || n.toLowerCase() === provider.toLowerCase());
      const lists = await Promise.all(names.map(async (n) => [n, await discover(n)] as const));
      for (const [name, models] of lists) {
        for (const m of models) {
          const id = `${name}:${m.id}`;
          byId.set(id, { id, object: "model", created: m.created ?? 0, owned_by: m.ownedBy ?? name, pricing: null });
        }
      }
    }
    for (const [name, models] of Object.entries(o.configuredModels)) {
      if (provider && name.toLowerCase() !== provider.toLowerCase()) continue;
      for (const m of models) {
        const id = `${name}:${m}`;
        if (!byId.has(id)) byId.set(id, { id, object: "model", created: 0, owned_by: name, pricing: null });
      }
    }
    const latest = await o.pricing.latestPerModel();
    for (const p of latest) {
      const colon = p.model_key.indexOf(":");
      const owner = colon > 0 ? p.model_key.slice(0, colon) : "unknown";
      if (provider && owner.toLowerCase() !== provider.toLowerCase()) continue;
      // `otari:<tool>` prices gateway tool calls (docs/behaviour/tools.md#billing), not a model.
      if (owner === TOOL_PRICE_PROVIDER) continue;
      const pricing = {
        input_price_per_million: p.input_price_per_million,
        output_price_per_million: p.output_price_per_million,
      };
      const existing = byId.get(p.model_key);
      byId.set(
        p.model_key,
        existing
          ? { ...existing, pricing }
          : {
              id: p.model_key,
              object: "model",
              created: Math.floor(Date.parse(p.created_at) / 1000),
              owned_by: owner,
              pricing,
            },
      );
    }
    // Aliases are listed under their own name, priced through their first target (issue "routing").
    if (!provider) {
      for (const { name, target } of o.router.aliases()) {
        const priced = latest.find((p) => p.model_key === target);
        const pricing = priced
          ? {
              input_price_per_million: priced.input_price_per_million,
              output_price_per_million: priced.output_price_per_million,
            }
          : null;
        byId.set(name, { id: name, object: "model", created: 0, owned_by: "alias", pricing });
      }
    }
    return byId;
  }

  return {
    async list(caller: Caller, provider?: string): Promise<ModelListResponse> {
      const lists = await allowLists(caller);
      // An alias is visible when its first target is.
      const aliasTarget = new Map(o.router.aliases().map((a) => [a.name, a.target]));
      const data = [...(await all(provider)).values()]
        .filter((m) => lists.every((l) => matches(l, aliasTarget.get(m.id) ?? m.id)))
        .sort((a, b) => a.id.localeCompare(b.id));
      return { object: "list", data };
    },

    /** From pricing or a still-fresh discovery cache; never calls upstream. */
    async get(caller: Caller, modelId: string): Promise<ModelObject> {
      const lists = await allowLists(caller);
      const missing = () => notFound(`Model '${modelId}' not found`, "model_not_found");
      if (!lists.every((l) => matches(l, modelId))) throw missing();
      const priced = (await o.pricing.latestPerModel()).find((p) => p.model_key === modelId);
      const colon = modelId.indexOf(":");
      const provider = colon > 0 ? modelId.slice(0, colon) : "";
      const cached = cache.get(provider);
      const fresh =
        cached && (o.ttlSeconds === 0 || Date.now() - cached.at < o.ttlSeconds * 1000)
          ? cached.models.find((m) => m.id === modelId.slice(colon + 1))
          : undefined;
      if (!priced && !fresh) throw missing();
      return {
        id: modelId,
        object: "model",
        created: fresh?.created ?? (priced ? Math.floor(Date.parse(priced.created_at) / 1000) : 0),
        owned_by: fresh?.ownedBy ?? (provider || "unknown"),
        pricing: priced
          ? {
              input_price_per_million: priced.input_price_per_million,
              output_price_per_million: priced.output_price_per_million,
            }
          : null,
      };
    },
  };
}

export type ModelsService = ReturnType<typeof createModelsService>;
