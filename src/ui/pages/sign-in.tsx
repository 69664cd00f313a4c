/** Sign-in: the master key goes to the server once and is exchanged for a session cookie; nothing is stored here. */
import { useState } from "preact/hooks";
import { signIn } from "../api";
import { ErrorNote } from "../components/ui";

export function SignIn(props: { onSignedIn: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main class="sign-in" id="main">
      <h1>Gateway console</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const input = e.currentTarget.elements.namedItem("master_key") as HTMLInputElement;
          setBusy(true);
          setError(null);
          try {
            await signIn(input.value);
            input.value = "";
            props.onSignedIn();
          } catch (err) {
            setError(err instanceof Error ? err.message : String(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label class="field">
          <span>Master key</span>
          <input name="master_key" type="password" autocomplete="off" required />
        </label>
        <ErrorNote error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p class="muted">The key is exchanged for a session cookie and is not kept by the browser.</p>
      </form>
    </main>
  );
}
