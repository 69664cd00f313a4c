/**
 * A platform-mode gateway for tests: the composition root (createPlatformGateway) pointed at the mock platform,
 * with OpenAI- and Anthropic-format mock providers to use as attempts' `api_base`. Requests go through
 * `app.handle`.
 */
import { loadConfig } from "../../src/config/load";
import { createPlatformGateway, type PlatformGateway } from "../../src/gateway-platform";
import { type MockServer, startAnthropicMock, startOpenAIMock } from "../../src/providers/_mocks";
import { type PlatformMock, startPlatformMock } from "../helpers/platform-mock";

export const GATEWAY_TOKEN = "gw-platform-token-for-tests";
export const USER_TOKEN = "user-token-123";

export interface PlatformTestGateway {
  gateway: PlatformGateway;
  platform: PlatformMock;
  openai: MockServer;
  anthropic: MockServer;
  /**
   * A request through the app; `token` is sent as `Authorization: Bearer` (default USER_TOKEN; null sends none);
   * aborting `signal` is the client leaving.
   */
  call(
    method: string,
    path: string,
    opts?: { body?: unknown; token?: string | null; headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<Response>;
  close(): Promise<void>;
}

export function startPlatformGateway(
  env: Record<string, string> = {},
  flags: Record<string, unknown> = {},
): PlatformTestGateway {
  const platform = startPlatformMock();
  const openai = startOpenAIMock();
  const anthropic = startAnthropicMock();
  const config = loadConfig({
    env: {
      OTARI_AI_TOKEN: GATEWAY_TOKEN,
      PLATFORM_BASE_URL: platform.baseUrl,
      STREAMING_FALLBACK_FIRST_CHUNK_TIMEOUT_MS: "400",
      ...env,
    },
    cwd: "/nonexistent-dir-for-tests",
    flags: { log_level: "error", ...flags },
  });
  const gateway = createPlatformGateway(config);
  return {
    gateway,
    platform,
    openai,
    anthropic,
    call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      const token = opts.token === undefined ? USER_TOKEN : opts.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers["content-type"] = "application/json";
      }
      return gateway.app.handle(new Request(`http://localhost${path}`, { method, headers, body, signal: opts.signal }));
    },
    async close() {
      await gateway.close(2000);
      await Promise.all([platform.stop(), openai.stop(), anthropic.stop()]);
    },
  };
}
