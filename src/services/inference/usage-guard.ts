/**
 * Upstream usage is data from outside the gateway: before it is billed, counted for TPM, reported or stored, every
 * count is checked (core/wire/usage.ts: non-negative safe integers up to MAX_REPORTED_TOKENS). A lying or broken
 * upstream is clamped, logged once per response that carried it (field names and numbers only) and counted.
 */
import { type NormalizedUsage, usageAnomaly } from "../../core/wire/index";
import { logger } from "../../runtime/logger";

const log = logger("usage-guard");

/** Usage safe to bill, from what `provider` reported. */
export type UsageGuard = (usage: NormalizedUsage, provider: string) => NormalizedUsage;

/** `onAnomaly`: the metric hook, told the provider of each clamped usage. */
export function createUsageGuard(onAnomaly?: (provider: string) => void): UsageGuard {
  return (usage, provider) => {
    const bad = usageAnomaly(usage);
    if (!bad) return usage;
    log.warn("upstream reported impossible token counts; clamped before billing", {
      provider,
      fields: bad.fields.join(", "),
    });
    onAnomaly?.(provider);
    return bad.usage;
  };
}
