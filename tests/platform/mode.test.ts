/** Mode selection at start-up (SPEC §10.1, §8.3, §13 item 64). */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, DEFAULT_PLATFORM_BASE_URL, loadConfig } from "../../src/config/load";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function load(env: Record<string, string>, yaml?: string) {
  const cwd = mkdtempSync(join(tmpdir(), "gw-mode-"));
  dirs.push(cwd);
  if (yaml) writeFileSync(join(cwd, "config.yml"), yaml);
  return loadConfig({ env, cwd, warn: () => undefined });
}

function loadError(env: Record<string, string>, yaml?: string): string {
  try {
    load(env, yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a start-up error");
}

describe("platform mode activation", () => {
  test("no token: standalone", () => {
    expect(load({}).mode).toBe("standalone");
  });

  test("a token turns platform mode on, even with mode: standalone; base_url defaults to the platform's", () => {
    const config = load({ OTARI_AI_TOKEN: "tok", GATEWAY_MODE: "standalone" });
    expect(config.mode).toBe("platform");
    expect(config.platform.base_url).toBe(DEFAULT_PLATFORM_BASE_URL);
    expect(DEFAULT_PLATFORM_BASE_URL).toBe("https://api.otari.ai/api/v1");
  });

  test("item 64: legacy token variables are accepted; OTARI_AI_TOKEN wins over them", () => {
    expect(load({ OTARI_PLATFORM_TOKEN: "legacy" }).envSettings.platformToken).toBe("legacy");
    expect(load({ ANY_LLM_PLATFORM_TOKEN: "older" }).mode).toBe("platform");
    expect(load({ ANY_LLM_PLATFORM_TOKEN: "older", OTARI_PLATFORM_TOKEN: "legacy" }).envSettings.platformToken).toBe(
      "legacy",
    );
    expect(
      load({ ANY_LLM_PLATFORM_TOKEN: "older", OTARI_PLATFORM_TOKEN: "legacy", OTARI_AI_TOKEN: "new" }).envSettings
        .platformToken,
    ).toBe("new");
    // An empty variable counts as unset.
    expect(load({ OTARI_AI_TOKEN: "", OTARI_PLATFORM_TOKEN: "legacy" }).envSettings.platformToken).toBe("legacy");
  });

  test("item 64: mode: platform without a token fails start-up with the exact message", () => {
    const message =
      "GATEWAY_MODE=platform requires OTARI_AI_TOKEN to be set (legacy aliases: OTARI_PLATFORM_TOKEN, ANY_LLM_PLATFORM_TOKEN).";
    expect(loadError({ GATEWAY_MODE: "platform" })).toBe(message);
    expect(loadError({ OTARI_MODE: "PLATFORM" })).toBe(message);
    expect(loadError({}, "mode: platform\n")).toBe(message);
  });

  test("an invalid mode value fails start-up naming the expected values", () => {
    expect(loadError({ GATEWAY_MODE: "hybrid" })).toContain(
      "Invalid GATEWAY_MODE value. Expected 'standalone' or 'platform'.",
    );
    expect(loadError({ OTARI_AI_TOKEN: "tok", OTARI_MODE: "cloud" })).toContain(
      "Invalid GATEWAY_MODE value. Expected 'standalone' or 'platform'.",
    );
  });

  test("configured providers in platform mode fail start-up", () => {
    const yaml = "providers:\n  openai:\n    api_key: sk-local\n";
    expect(loadError({ OTARI_AI_TOKEN: "tok" }, yaml)).toBe(
      "Local provider credentials are not supported in platform mode. Remove configured providers.",
    );
    expect(load({}, yaml).mode).toBe("standalone");
  });

  test("PLATFORM_* env knobs override platform.* keys and the default base URL", () => {
    const config = load(
      {
        OTARI_AI_TOKEN: "tok",
        PLATFORM_BASE_URL: "http://platform.local/api",
        PLATFORM_USAGE_MAX_RETRIES: "5",
        STREAMING_FALLBACK_FIRST_CHUNK_TIMEOUT_MS: "750",
      },
      "platform:\n  base_url: http://yaml\n",
    );
    expect(config.platform).toMatchObject({
      base_url: "http://platform.local/api",
      usage_max_retries: 5,
      streaming_first_chunk_timeout_ms: 750,
      streaming_first_chunk_timeout_ms_tool_loop: 30000,
    });
  });
});
