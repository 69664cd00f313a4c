/** Loads data for a component and reloads it when `deps` change or on demand; stale answers are dropped. */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { errorMessage } from "../api";

export interface Async<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const seq = useRef(0);
  const run = useCallback(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === seq.current && setState({ data, error: null, loading: false }),
      (err: unknown) =>
        mine === seq.current && setState((s) => ({ data: s.data, error: errorMessage(err), loading: false })),
    );
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

/** Runs a page's row actions (delete, revoke, …): on success `after` (a reload), on failure the error to show. */
export function useAction(after: () => void): {
  error: string | null;
  act: (fn: () => Promise<unknown>) => Promise<void>;
} {
  const [error, setError] = useState<string | null>(null);
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      after();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return { error, act };
}
