/**
 * A value read from the database and kept in memory for the hot path. It is reloaded at most once per `ttlMs`
 * (one statement, whatever the traffic), in the background while the old value keeps serving, and at once after
 * `invalidate()` (a local write), so changes from other processes apply within `ttlMs`.
 */
export interface Snapshot<T> {
  get(): Promise<T>;
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

  return {
    async get() {
      if (value === undefined || stale) return reload();
      if (Date.now() - loadedAt > ttlMs) reload().catch(() => undefined);
      return value;
    },
    invalidate() {
      stale = true;
    },
  };
}
