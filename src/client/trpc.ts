/**
 * A typed tRPC client for scripts: `createGatewayClient({ url, masterKey })` talks to a running gateway's /trpc
 * endpoint with the master key, batching calls (httpBatchLink).
 *
 * ```ts
 * const gw = createGatewayClient({ url: "http://127.0.0.1:8000", masterKey: process.env.OTARI_MASTER_KEY! });
 * const user = await gw.users.create.mutate({ user_id: "alice" });
 * const key = await gw.keys.create.mutate({ user_id: user.user_id, key_name: "ci" });
 * ```
 */
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import type { AppRouter } from "../http/trpc/router";

export type { AppRouter, GatewayErrorData } from "../http/trpc/router";
export { TRPCClientError };

export interface GatewayClientOptions {
  /** The gateway's base URL (`http://host:port`); `/trpc` is appended unless already there. */
  url: string;
  masterKey: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Custom fetch (tests, proxies). Default: the global fetch. */
  fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
}

export function createGatewayClient(options: GatewayClientOptions) {
  const base = options.url.replace(/\/+$/, "");
  const url = base.endsWith("/trpc") ? base : `${base}/trpc`;
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url,
        // Bun's Response types its body stream more richly than tRPC's FetchEsque expects; at run time they agree.
        fetch: options.fetch as unknown as Parameters<typeof httpBatchLink>[0]["fetch"],
        headers: () => ({ ...options.headers, authorization: `Bearer ${options.masterKey}` }),
      }),
    ],
  });
}

export type GatewayClient = ReturnType<typeof createGatewayClient>;
