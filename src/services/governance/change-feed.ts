/**
 * A change feed for hot-path caches: writers of management data bump a per-topic generation counter in `settings`
 * (`generation:<topic>`), and one timer per process polls all counters in one statement every `pollMs`. A cache
 * subscribed to a topic learns of a change made by any process (replica, CLI) within pollMs plus a query, at a
 * cost of 1000 / pollMs statements per second per process whatever the traffic.
 */
import type { Store } from "../../db/client";
import { logger } from "../../runtime/logger";

const log = logger("change-feed");

export type ChangeTopic = "keys" | "users" | "budgets" | "pricing" | (string & {});

export interface ChangeFeedOptions {
  store: Store;
  /** Default 250. */
  pollMs?: number;
}

export interface ChangeFeed {
  /** Records a change (after the write committed); local subscribers hear of it at once. */
  bump(topic: ChangeTopic): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(topic: ChangeTopic, cb: () => void): () => void;
  /** Starts polling (the first poll only records the current generations). */
  start(): Promise<void>;
  stop(): void;
  /** One poll now; exported for tests and for a manual refresh. */
  poll(): Promise<void>;
}

const PREFIX = "generation:";

export function createChangeFeed(opts: ChangeFeedOptions): ChangeFeed {
  const { store } = opts;
  const pollMs = opts.pollMs ?? 250;
  const pg = store.dialect === "pg";
  const seen = new Map<string, string>();
  const subscribers = new Map<string, Set<() => void>>();
  let timer: ReturnType<typeof setInterval> | null = null;
  let baseline = false;
  let polling = false;

  const notify = (topic: string) => {
    for (const cb of subscribers.get(topic) ?? []) {
      try {
        cb();
      } catch (err) {
        log.warn("change subscriber failed", { topic, error: String(err) });
      }
    }
  };

  async function poll(): Promise<void> {
    if (polling) return;
    polling = true;
    try {
      const rows = await store.query<{ key: string; value: string }>(
        `SELECT key, value FROM settings WHERE key LIKE ${pg ? "$1" : "?1"}`,
        [`${PREFIX}%`],
      );
      for (const { key, value } of rows) {
        const topic = key.slice(PREFIX.length);
        const before = seen.get(topic);
        seen.set(topic, String(value));
        if (baseline && before !== String(value)) notify(topic);
      }
      baseline = true;
    } catch (err) {
      log.debug("change feed poll failed", { error: String(err) });
    } finally {
      polling = false;
    }
  }

  return {
    async bump(topic) {
      const rows = await store.query<{ value: string }>(
        pg
          ? `INSERT INTO settings (key, value, updated_at) VALUES ($1, '1', $2) ON CONFLICT (key)
             DO UPDATE SET value = (settings.value::bigint + 1)::text, updated_at = EXCLUDED.updated_at RETURNING value`
          : `INSERT INTO settings (key, value, updated_at) VALUES (?1, '1', ?2) ON CONFLICT (key)
             DO UPDATE SET value = CAST(CAST(settings.value AS INTEGER) + 1 AS TEXT), updated_at = excluded.updated_at RETURNING value`,
        [PREFIX + topic, pg ? new Date() : Date.now()],
      );
      // This process already knows: record the new generation so its own poll does not report it twice.
      if (rows[0]) seen.set(topic, String(rows[0].value));
      notify(topic);
    },
    subscribe(topic, cb) {
      let set = subscribers.get(topic);
      if (!set) {
        set = new Set();
        subscribers.set(topic, set);
      }
      set.add(cb);
      return () => set.delete(cb);
    },
    async start() {
      if (timer) return;
      await poll();
      timer = setInterval(() => void poll(), pollMs);
      timer.unref?.();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
    poll,
  };
}
