/**
 * The console's API client: the gateway's own tRPC router at /ui/api/trpc, typed by its router (a type import; no
 * server code is bundled), with the session cookie as credential and the session's CSRF token on every call. The
 * master key is sent once, to sign in, and never stored.
 */
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../http/trpc/router";

export type Outputs = inferRouterOutputs<AppRouter>;
export type Inputs = inferRouterInputs<AppRouter>;

let csrfToken: string | null = null;
/** Called when a call finds the session gone (expired, signed out elsewhere). */
let onSignedOut: () => void = () => undefined;

export function whenSignedOut(fn: () => void): void {
  onSignedOut = fn;
}

export const api = createTRPCClient<AppRouter>({
  links: [
    httpBatchLink({
      url: "/ui/api/trpc",
      headers: () => (csrfToken ? { "x-csrf-token": csrfToken } : {}),
      fetch: async (input, init) => {
        const res = await fetch(input, { ...init, credentials: "same-origin" });
        if (res.status === 401) onSignedOut();
        return res;
      },
    }),
  ],
});

export interface SessionInfo {
  csrf_token: string;
  expires_at: string;
}

async function errorText(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    return body.error?.message ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

/** The current session, or null when signed out. */
export async function loadSession(): Promise<SessionInfo | null> {
  const res = await fetch("/ui/api/session", { credentials: "same-origin" });
  if (!res.ok) return null;
  const info = (await res.json()) as SessionInfo;
  csrfToken = info.csrf_token;
  return info;
}

export async function signIn(masterKey: string): Promise<SessionInfo> {
  const res = await fetch("/ui/api/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ master_key: masterKey }),
  });
  if (!res.ok) throw new Error(await errorText(res));
  const info = (await res.json()) as SessionInfo;
  csrfToken = info.csrf_token;
  return info;
}

export async function signOut(): Promise<void> {
  await fetch("/ui/api/session", {
    method: "DELETE",
    credentials: "same-origin",
    headers: csrfToken ? { "x-csrf-token": csrfToken } : {},
  });
  csrfToken = null;
}

/** A readable message for any failure of a call. */
export function errorMessage(err: unknown): string {
  if (err instanceof TRPCClientError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
