/** The governance engine: budgets, rate limits, usage writing and the cache change feed (docs/behaviour/storage.md). */
export {
  type BudgetLedger,
  type BudgetLedgerOptions,
  type Clock,
  createBudgetLedger,
  type LedgerMetrics,
  type Reservation,
  type ReserveInput,
  type SpendStamp,
} from "./budget-ledger";
export {
  type CostControl,
  type CostControlHooks,
  type CostControlOptions,
  costControlOptions,
  createCostControl,
  type GovernedPath,
  type PathInput,
  type PathKey,
  type PathUser,
} from "./cost-control";
export type { AlertOutcome } from "./alerts";
export { type ChangeFeed, type ChangeFeedOptions, type ChangeTopic, createChangeFeed } from "./change-feed";
export {
  createRateLimiter,
  type LimitHold,
  type RateLimiter,
  type RateLimiterOptions,
  type RateScope,
} from "./rate-limiter";
export {
  createUsageWriter,
  type FlushEvent,
  type UsageRowInsert,
  type UsageWriter,
  type UsageWriterOptions,
} from "./usage-writer";
