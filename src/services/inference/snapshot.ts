/**
 * A value read from the database and kept in memory for the hot path. It is reloaded at most once per `ttlMs`
 * (one statement, whatever the traffic), in the background while the old value keeps serving, and at once after
 * `invalidate()` (a local write), so changes from other processes apply within `ttlMs`.
 */
export interface Snapshot<T> {
  get(): Promise<T>;
  /** The value when one is loaded and not invalidated (what `get` would resolve to at once), else undefined. */
  peek(): T | undefined;
  invalidate(): void;
}

export function createSnapshot<T>(load: () => Promise<T>, ttlMs: number): Snapshot<T> {
  let value: T | undefined;
  let loadedAt = 0;
  let stale = true;
  let loading: Promise<T> | null = null;

  const reload = () => {
    loading ??= load()
      .then((v) => {
        value = v;
        loadedAt = Date.now();
        stale = false;
        return v;
      })
      .finally(() => {
        loading = null;
      });
    return loading;
  };

  const peek = (): T | undefined => {
    if (value === undefined || stale) return undefined;
    if (Date.now() - loadedAt > ttlMs) reload().catch(() => undefined);
    return value;
  };

  return {
    async get() {
      return peek() ?? reload();
    },
    peek,
    invalidate() {
      stale = true;
    },
  };
}
