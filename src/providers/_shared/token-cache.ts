/**
 * Access tokens traded for a long-lived credential (Google OAuth, IBM Cloud IAM): cached until `marginMs` before
 * they expire, one exchange shared by concurrent callers, each of whom may still abandon the wait.
 */

export interface Exchanged {
  token: string;
  /** Lifetime in seconds, from the moment the exchange started. */
  expiresInS: number;
}

export interface TokenCache {
  /** A valid token for `key`: cached, else from `exchange` (started once for every concurrent caller). */
  get(key: string, exchange: () => Promise<Exchanged>, signal?: AbortSignal): Promise<string>;
  /** Forgets every cached token (tests; a rotated key). */
  clear(): void;
}

export function createTokenCache(marginMs = 60_000): TokenCache {
  const tokens = new Map<string, { token: string; refreshAt: number }>();
  const pending = new Map<string, Promise<string>>();
  return {
    get(key, exchange, signal) {
      const hit = tokens.get(key);
      if (hit && Date.now() < hit.refreshAt) return Promise.resolve(hit.token);
      let inFlight = pending.get(key);
      if (!inFlight) {
        const started = Date.now();
        inFlight = exchange()
          .then(({ token, expiresInS }) => {
            tokens.set(key, { token, refreshAt: started + expiresInS * 1000 - marginMs });
            return token;
          })
          .finally(() => pending.delete(key));
        pending.set(key, inFlight);
      }
      return abandonable(inFlight, signal);
    },
    clear() {
      tokens.clear();
    },
  };
}

/** Rejects with the signal's reason as soon as it aborts, leaving the shared work running for others. */
function abandonable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
