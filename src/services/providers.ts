/**
 * Configured providers as the console shows them: each provider's deployments with their routing health (failures
 * in a row, cool-down; this process's view, as routing keeps it in memory per replica) and the models it lists.
 * Credentials never leave: deployments carry their base URL only, with any user:password in it removed.
 */
import type { ProvidersResponse } from "../core/schemas/console";
import type { ModelListResponse } from "../core/schemas/models";
import { toIso } from "../core/time";
import type { ProviderHealth } from "./inference/routing";

export interface ProvidersDeps {
  health: () => ProviderHealth[];
  aliases: () => { name: string; target: string }[];
  /** Every model the master key may call (discovery and pricing). */
  models: () => Promise<ModelListResponse>;
}

/** A URL without its user:password part. */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
}

export function createProvidersService(deps: ProvidersDeps) {
  return {
    async list(): Promise<ProvidersResponse> {
      const models = (await deps.models()).data;
      const providers = deps.health().map((p) => ({
        name: p.name,
        kind: p.kind,
        deployments: p.deployments.map((d) => ({
          api_base: withoutCredentials(d.apiBase),
          weight: d.weight,
          failures_in_a_row: d.failuresInARow,
          cooling_until: d.cooledUntil === null ? null : toIso(new Date(d.cooledUntil)),
        })),
        models: models
          .filter((m) => m.id.startsWith(`${p.name}:`))
          .map((m) => ({
            id: m.id,
            input_price_per_million: m.pricing?.input_price_per_million ?? null,
            output_price_per_million: m.pricing?.output_price_per_million ?? null,
          })),
      }));
      return { providers, aliases: deps.aliases() };
    },
  };
}

export type ProvidersService = ReturnType<typeof createProvidersService>;
