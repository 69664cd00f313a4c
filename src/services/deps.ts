/** What every service factory receives. Services never read process.env and never see HTTP. */
import type { Store } from "../db/client";

export type ChangeTopic = "keys" | "users" | "budgets" | "pricing" | "teams" | "rate_limits" | "alerts";

export interface ServiceDeps {
  store: Store;
  /** The clock; tests move it. */
  now: () => Date;
  /** Told after a committed write, so hot-path caches (this process and, via the change feed, others) refresh. */
  changed: (topic: ChangeTopic) => void;
  /** Writes spend the hot path settled in memory, before reads that show it. */
  flushSpend: () => Promise<void>;
}
