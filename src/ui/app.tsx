/** The shell: sign-in gate, navigation, theme switch, and the page the path names. */
import { useEffect, useState } from "preact/hooks";
import { loadSession, signOut, whenSignedOut } from "./api";
import { BASE, Link, navigate, usePath } from "./router";
import { applyTheme, storedTheme, type ThemeChoice } from "./theme";
import { SignIn } from "./pages/sign-in";
import { Overview } from "./pages/overview";
import { Usage } from "./pages/usage";
import { Requests } from "./pages/requests";
import { Keys } from "./pages/keys";
import { Users } from "./pages/users";
import { Teams } from "./pages/teams";
import { Budgets } from "./pages/budgets";
import { RateLimits } from "./pages/rate-limits";
import { Alerts } from "./pages/alerts";
import { Pricing } from "./pages/pricing";
import { Providers } from "./pages/providers";
import { Settings } from "./pages/settings";

const PAGES = [
  ["/", "Overview", Overview],
  ["/usage", "Usage", Usage],
  ["/requests", "Requests", Requests],
  ["/keys", "Keys", Keys],
  ["/users", "Users", Users],
  ["/teams", "Teams", Teams],
  ["/budgets", "Budgets", Budgets],
  ["/rate-limits", "Rate limits", RateLimits],
  ["/alerts", "Alerts", Alerts],
  ["/pricing", "Pricing", Pricing],
  ["/providers", "Providers", Providers],
  ["/settings", "Settings", Settings],
] as const;

export function App() {
  const [state, setState] = useState<"loading" | "in" | "out">("loading");
  useEffect(() => {
    whenSignedOut(() => setState("out"));
    loadSession().then((s) => setState(s ? "in" : "out"));
  }, []);
  if (state === "loading") return <p class="splash">Loading…</p>;
  if (state === "out") return <SignIn onSignedIn={() => setState("in")} />;
  return <Shell onSignedOut={() => setState("out")} />;
}

function ThemeSwitch() {
  const [choice, setChoice] = useState<ThemeChoice>(storedTheme());
  return (
    <label class="theme">
      <span class="sr-only">Theme</span>
      <select
        value={choice}
        onChange={(e) => {
          const v = e.currentTarget.value as ThemeChoice;
          setChoice(v);
          applyTheme(v);
        }}
      >
        <option value="system">System theme</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}

function Shell(props: { onSignedOut: () => void }) {
  const path = usePath();
  const [menuOpen, setMenuOpen] = useState(false);
  const page = PAGES.find(([p]) => p === path) ?? null;
  useEffect(() => {
    document.title = `${page ? page[1] : "Not found"} · Gateway console`;
    setMenuOpen(false);
  }, [path]);
  const Page = page?.[2];
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <button
          type="button"
          class="ghost menu-button"
          aria-expanded={menuOpen}
          aria-controls="nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <span class="brand">Gateway console</span>
        <div class="topbar-end">
          <ThemeSwitch />
          <button
            type="button"
            onClick={async () => {
              await signOut();
              navigate(BASE);
              props.onSignedOut();
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <nav id="nav" class={menuOpen ? "open" : undefined} aria-label="Pages">
        <ul>
          {PAGES.map(([p, name]) => (
            <li key={p}>
              <Link href={p === "/" ? BASE : `${BASE}${p}`} current={p === path}>
                {name}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {Page ? (
          <Page />
        ) : (
          <section>
            <h1>Not found</h1>
            <p>
              No page here. <Link href={BASE}>Back to the overview</Link>.
            </p>
          </section>
        )}
      </main>
    </div>
  );
}
