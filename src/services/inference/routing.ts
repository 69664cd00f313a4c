/**
 * Model routing (docs/behaviour/providers.md#model-selectors,
 * docs/behaviour/providers.md#routing-aliases-fallbacks-retries-balancing): a selector — an alias from config, or
 * `provider:model` (a built-in provider key or a configured named instance) — becomes a plan: the ordered targets of a
 * fallback chain, each with its provider adapter and one or more weighted deployments. Settings are built once per
 * deployment and reused: per request there is only a map lookup or a string split.
 */
import type { Config } from "../../config/load";
import type { ProviderEntry } from "../../config/schema";
import { badRequest } from "../../core/errors";
import { logger } from "../../runtime/logger";
import {
  buildProviderSettings,
  canonicalProviderName,
  getProvider,
  parseModelSelector,
} from "../../providers/registry";
import { type Capability, requireCapability } from "../../providers/capabilities";
import type { Provider, ProviderSettings } from "../../providers/types";

const log = logger("routing");

/** After this many failures in a row a deployment is cooled down for `routing.cooldown_seconds`. */
const FAILURES_BEFORE_COOLDOWN = 3;

export interface Deployment {
  settings: ProviderSettings;
  weight: number;
  failures: number;
  cooledUntil: number;
}

export interface Target {
  /** The selector's provider part as it resolved: a built-in provider key or a configured instance name. */
  providerName: string;
  /** The model part, sent upstream unchanged. */
  model: string;
  provider: Provider;
  deployments: Deployment[];
  /** Pricing lookup keys in order (docs/behaviour/storage.md#pricing): colon form, then the legacy slash form. */
  pricingKeys: readonly [string, string];
}

/** One target with the deployment chosen for an attempt. */
export interface Route extends Omit<Target, "deployments"> {
  settings: ProviderSettings;
  deployment: Deployment;
  /** How many deployments the target has. */
  siblings: number;
  /** The target it was picked from (its price is the target's). */
  target: Target;
}

/** The route's adapter as having `capability`, or the 400 naming the provider as the client selected it. */
export const providerFor = <C extends Capability>(route: Route, capability: C) =>
  requireCapability(route.provider, capability, route.providerName);

export interface Plan {
  /** The alias the selector named, if any. */
  alias: string | null;
  targets: Target[];
}

export interface Router {
  plan(selector: string): Plan;
  /** The first target's first deployment: what a single-target caller (model discovery) needs. */
  route(selector: string): Route;
  /**
   * Picks a deployment of a target: weighted among the ones not cooling down (the least cooled if all are),
   * avoiding `avoid` (the deployment that just failed) when another one is ready.
   */
  pick(target: Target, avoid?: Deployment): Route;
  /** Records an attempt's outcome on its deployment (cool-down bookkeeping, for targets with alternatives). */
  report(route: Route, ok: boolean): void;
  /** Every configured provider or instance name (for model discovery). */
  configured(): string[];
  /** Configured aliases and their first target's selector (for /v1/models). */
  aliases(): { name: string; target: string }[];
  /** Every configured provider and each one used since start, with its deployments' health in this process. */
  health(): ProviderHealth[];
}

/** A provider's deployments as routing sees them (credentials left out). */
export interface ProviderHealth {
  name: string;
  /** The registry key it resolves to; null when the name is not a known provider. */
  kind: string | null;
  deployments: { apiBase: string; weight: number; failuresInARow: number; cooledUntil: number | null }[];
}

/** A weighted random choice. */
function weighted(ready: Deployment[]): Deployment {
  if (ready.length === 1) return ready[0]!;
  let r = Math.random() * ready.reduce((sum, d) => sum + d.weight, 0);
  for (const d of ready) {
    r -= d.weight;
    if (r < 0) return d;
  }
  return ready[ready.length - 1]!;
}

export function createRouter(config: Config, version: string): Router {
  const instances = Object.keys(config.providers);
  const providers = new Map<string, { provider: Provider; deployments: Deployment[] }>();
  const aliasTargets = new Map(
    Object.entries(config.aliases).map(([name, value]) => [name, typeof value === "string" ? [value] : value]),
  );
  const cooldownMs = config.routing.cooldown_seconds * 1000;
  let warnedLegacy = false;

  function settingsFor(
    name: string,
    kind: string,
    entry: ProviderEntry | undefined,
    apiKey?: string | null,
    apiBase?: string | null,
  ): ProviderSettings {
    const { api_key, api_base, provider_type: _type, client_args, deployments: _d, models: _m, ...extra } = entry ?? {};
    const settings = buildProviderSettings(
      kind,
      {
        apiKey: apiKey ?? api_key ?? null,
        apiBase: apiBase ?? api_base ?? null,
        headers: client_args?.custom_headers ?? {},
        timeoutSeconds: client_args?.timeout ?? null,
        maxBodyBytes: config.upstream_max_body_bytes,
        maxEventBytes: config.upstream_max_event_bytes,
        extra: { ...extra, ...(client_args ?? {}) },
      },
      config.env,
      version,
    );
    return { ...settings, name };
  }

  function resolve(name: string): { provider: Provider; deployments: Deployment[] } {
    const hit = providers.get(name);
    if (hit) return hit;
    const entry = config.providers[name] ?? config.providers[instances.find((k) => k.toLowerCase() === name) ?? ""];
    const kind = canonicalProviderName(entry?.provider_type ?? name);
    if (!kind) throw badRequest(`Unsupported provider '${name}'`, "unsupported_provider");
    const deployments: Deployment[] = entry?.deployments?.length
      ? entry.deployments.map((d) => ({
          settings: settingsFor(name, kind, entry, d.api_key, d.api_base),
          weight: d.weight,
          failures: 0,
          cooledUntil: 0,
        }))
      : [{ settings: settingsFor(name, kind, entry), weight: 1, failures: 0, cooledUntil: 0 }];
    const resolved = { provider: getProvider(kind), deployments };
    providers.set(name, resolved);
    return resolved;
  }

  function target(selector: string): Target {
    const parsed = parseModelSelector(selector, instances);
    if (parsed.legacy && !warnedLegacy) {
      warnedLegacy = true;
      log.warn("The 'provider/model' selector form is deprecated; use 'provider:model'");
    }
    const { provider, deployments } = resolve(parsed.provider);
    return {
      providerName: parsed.provider,
      model: parsed.model,
      provider,
      deployments,
      pricingKeys: [`${parsed.provider}:${parsed.model}`, `${parsed.provider}/${parsed.model}`],
    };
  }

  function pick(t: Target, avoid?: Deployment): Route {
    const { deployments, ...rest } = t;
    const now = Date.now();
    const live = deployments.filter((d) => d.cooledUntil <= now);
    const ready = live.length > 1 && avoid ? live.filter((d) => d !== avoid) : live;
    const chosen =
      ready.length === 0 ? deployments.reduce((a, b) => (b.cooledUntil < a.cooledUntil ? b : a)) : weighted(ready);
    return { ...rest, settings: chosen.settings, deployment: chosen, siblings: deployments.length, target: t };
  }

  // Plans are immutable (deployment health lives in the shared Deployment objects), so each selector is resolved
  // once; only selectors that resolved are kept, and the map is bounded against clients sending endless new ones.
  const plans = new Map<string, Plan>();

  return {
    plan(selector) {
      let plan = plans.get(selector);
      if (!plan) {
        const chain = aliasTargets.get(selector);
        plan = chain ? { alias: selector, targets: chain.map(target) } : { alias: null, targets: [target(selector)] };
        if (plans.size >= 10_000) plans.clear();
        plans.set(selector, plan);
      }
      return plan;
    },
    route(selector) {
      return pick(target(selector));
    },
    pick,
    report(route, ok) {
      const d = route.deployment;
      if (ok) {
        d.failures = 0;
        return;
      }
      d.failures++;
      // Cooling the only deployment would change nothing: it is still picked (the least cooled).
      if (d.failures >= FAILURES_BEFORE_COOLDOWN && cooldownMs > 0 && route.siblings > 1) {
        d.cooledUntil = Date.now() + cooldownMs;
        d.failures = 0;
        log.warn("deployment cooled down after repeated failures", {
          provider: route.providerName,
          api_base: route.settings.apiBase,
          seconds: cooldownMs / 1000,
        });
      }
    },
    configured: () => instances,
    aliases: () => [...aliasTargets].map(([name, chain]) => ({ name, target: chain[0]! })),
    health() {
      const now = Date.now();
      const names = [...new Set([...instances, ...providers.keys()])];
      return names.map((name) => {
        let resolved: { deployments: Deployment[] } | null = null;
        try {
          resolved = resolve(name);
        } catch {
          // An entry whose provider type is unknown: listed, with nothing to route to.
        }
        const entry = config.providers[name];
        return {
          name,
          kind: canonicalProviderName(entry?.provider_type ?? name),
          deployments: (resolved?.deployments ?? []).map((d) => ({
            apiBase: d.settings.apiBase,
            weight: d.weight,
            failuresInARow: d.failures,
            cooledUntil: d.cooledUntil > now ? d.cooledUntil : null,
          })),
        };
      });
    },
  };
}
