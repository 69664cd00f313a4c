/** Wire schemas of what only the console reads: providers with routing health, the effective configuration, sessions. */
import { z } from "zod";

export const providersResponse = z.object({
  providers: z.array(
    z.object({
      name: z.string(),
      kind: z.string().nullable(),
      deployments: z.array(
        z.object({
          api_base: z.string(),
          weight: z.number(),
          failures_in_a_row: z.number().int(),
          cooling_until: z
            .string()
            .nullable()
            .describe("Set while the deployment is skipped after repeated failures (this replica's view)"),
        }),
      ),
      models: z.array(
        z.object({
          id: z.string(),
          input_price_per_million: z.number().nullable(),
          output_price_per_million: z.number().nullable(),
        }),
      ),
    }),
  ),
  aliases: z.array(z.object({ name: z.string(), target: z.string() })),
});
export type ProvidersResponse = z.infer<typeof providersResponse>;

export const settingsResponse = z.object({
  config_path: z.string().nullable(),
  values: z
    .record(z.string(), z.unknown())
    .describe("Every config key's effective value; secrets replaced by [redacted]"),
});
export type SettingsResponse = z.infer<typeof settingsResponse>;

export const signInRequest = z.object({ master_key: z.string().min(1).max(4096) });

export const sessionInfo = z.object({
  csrf_token: z.string().describe("Send as X-CSRF-Token on every console API call"),
  expires_at: z.string(),
});
export type SessionInfo = z.infer<typeof sessionInfo>;
