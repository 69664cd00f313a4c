/**
 * Model routing (SPEC §5.1, §5.3): `provider:model` (or a configured named instance) -> the adapter and its
 * settings. Settings are built once per provider or instance and reused: nothing here runs per request but a
 * string split and two map lookups.
 */
import type { Config } from "../../config/load";
import { badRequest } from "../../core/errors";
import { logger } from "../../platform/logger";
import { buildProviderSettings, canonicalProviderName, getProvider, parseModelSelector } from "../../providers/registry";
import type { Provider, ProviderSettings } from "../../providers/types";

const log = logger("routing");

export interface Route {
  /** The selector's provider part as it resolved: a §5.2 key or a configured instance name. */
  providerName: string;
  /** The model part, sent upstream unchanged. */
  model: string;
  provider: Provider;
  settings: ProviderSettings;
  /** Pricing lookup keys in order (SPEC §7.2): colon form, then the legacy slash form. */
  pricingKeys: readonly [string, string];
}

export interface Router {
  route(selector: string): Route;
  /** Every configured provider or instance name (for model discovery). */
  configured(): string[];
}

export function createRouter(config: Config, version: string): Router {
  const instances = Object.keys(config.providers);
  const cache = new Map<string, { provider: Provider; settings: ProviderSettings }>();
  let warnedLegacy = false;

  function resolve(name: string): { provider: Provider; settings: ProviderSettings } {
    const hit = cache.get(name);
    if (hit) return hit;
    const entry = config.providers[name] ?? config.providers[Object.keys(config.providers).find((k) => k.toLowerCase() === name) ?? ""];
    const kind = canonicalProviderName(entry?.provider_type ?? name);
    if (!kind) throw badRequest(`Unsupported provider '${name}'`, "unsupported_provider");
    const { api_key, api_base, provider_type: _type, client_args, deployments: _d, ...extra } = entry ?? {};
    const settings = buildProviderSettings(
      kind,
      {
        apiKey: api_key ?? null,
        apiBase: api_base ?? null,
        headers: client_args?.custom_headers ?? {},
        timeoutSeconds: client_args?.timeout ?? null,
        extra: { ...extra, ...(client_args ?? {}) },
      },
      config.env,
      version,
    );
    const resolved = { provider: getProvider(kind), settings: { ...settings, name } };
    cache.set(name, resolved);
    return resolved;
  }

  return {
    route(selector) {
      const parsed = parseModelSelector(selector, instances);
      if (parsed.legacy && !warnedLegacy) {
        warnedLegacy = true;
        log.warn("The 'provider/model' selector form is deprecated; use 'provider:model'");
      }
      const { provider, settings } = resolve(parsed.provider);
      return {
        providerName: parsed.provider,
        model: parsed.model,
        provider,
        settings,
        pricingKeys: [`${parsed.provider}:${parsed.model}`, `${parsed.provider}/${parsed.model}`],
      };
    },
    configured: () => instances,
  };
}
