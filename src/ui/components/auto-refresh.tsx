/**
 * Live updates: a page reloads its data every few seconds while the tab is visible, when the operator turned it on.
 * The choice is kept in the browser (localStorage) and shared by the pages that offer it. A tick is skipped while the
 * last load is still running, so a slow answer never stacks requests; a hidden tab loads nothing.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { Select } from "./ui";

const STORAGE_KEY = "console.auto-refresh";
const CHOICES: [string, string][] = [
  ["0", "Off"],
  ["5", "Every 5 s"],
  ["30", "Every 30 s"],
  ["60", "Every minute"],
];

function stored(): string {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return CHOICES.some(([c]) => c === v) ? (v as string) : "0";
  } catch {
    // Storage refused (a locked-down browser): live updates start off.
    return "0";
  }
}

export function AutoRefresh(props: {
  reload: () => void;
  /** The page's data is loading: this tick waits for the next one. */
  busy: boolean;
  /** Why updates are paused on this view (e.g. a later page of a list); null: they run. */
  paused?: string | null;
}) {
  const [seconds, setSeconds] = useState(stored);
  const busy = useRef(props.busy);
  busy.current = props.busy;
  const { reload, paused } = props;
  useEffect(() => {
    const every = Number(seconds) * 1000;
    if (every === 0 || paused) return;
    const tick = () => {
      if (!document.hidden && !busy.current) reload();
    };
    const timer = setInterval(tick, every);
    // Back on a tab that was hidden: what it shows may be old, so load now.
    document.addEventListener("visibilitychange", tick);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", tick);
    };
  }, [seconds, reload, paused]);
  return (
    <Select
      label="Auto-refresh"
      value={seconds}
      options={CHOICES}
      hint={seconds !== "0" && paused ? paused : undefined}
      onChange={(v) => {
        setSeconds(v);
        try {
          localStorage.setItem(STORAGE_KEY, v);
        } catch {
          // Not kept: the choice lasts until the page is left.
        }
      }}
    />
  );
}
