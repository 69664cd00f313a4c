import { describe, expect, test } from "bun:test";
import { BUILTIN_PATTERNS, createRedactor, REDACTED } from "./redaction";

const PROVIDER_KEY = "prov-9f8e7d6c5b4a39281706f5e4d3c2b1a0";
const MASTER = "gwm-master-secret-value-0123456789";

const redactor = (over: Partial<Parameters<typeof createRedactor>[0]> = {}) =>
  createRedactor({
    secrets: [PROVIDER_KEY, MASTER, "short"],
    patterns: [String.raw`\bACCT-\d{6}\b`],
    maxChars: 10_000,
    ...over,
  });

describe("redaction", () => {
  test("a planted API key and e-mail address are removed from captured content", () => {
    const messages = [
      {
        role: "user",
        parts: [
          {
            type: "text",
            content: "my key is sk-proj-AbCdEfGhIjKlMnOpQrStUvWx and mail me at jane.doe+tag@mail.example.co.uk",
          },
        ],
      },
    ];
    const out = redactor().content(messages);
    expect(out).not.toContain("sk-proj-AbCdEfGhIjKlMnOpQrStUvWx");
    expect(out).not.toContain("jane.doe");
    expect(out).not.toContain("example.co.uk");
    expect(JSON.parse(out)).toEqual([
      { role: "user", parts: [{ type: "text", content: `my key is ${REDACTED} and mail me at ${REDACTED}` }] },
    ]);
  });

  test.each([
    ["OpenAI", "sk-proj-abcdefghijklmnopqrstuvwxyz012345"],
    ["Anthropic", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"],
    ["Google", "AIzaSyA1234567890abcdefghijklmnopqrstuv"],
    ["AWS access key", "AKIAIOSFODNN7EXAMPLE"],
    ["GitHub", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"],
    ["Hugging Face", "hf_abcdefghijklmnopqrstuvwxyzABCDEF"],
    ["Groq", "gsk_abcdefghijklmnopqrstuvwx"],
    ["Stripe", "sk_live_abcdefghijklmnop1234"],
    ["Slack", "xoxb-123456789012-abcdefghij"],
    ["gateway virtual key", "gw-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90Uv12Wx34"],
    ["bearer token", "Bearer abc.def-ghi_jkl~123"],
    ["JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"],
    ["private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"],
    ["e-mail", "someone@example.org"],
  ])("built-in pattern: %s", (_, secret) => {
    const out = redactor().text(`before ${secret} after`);
    expect(out).toBe(`before ${REDACTED} after`);
  });

  test("operator patterns apply beside the built-in ones", () => {
    expect(redactor().text("account ACCT-123456 closed")).toBe(`account ${REDACTED} closed`);
    expect(redactor({ patterns: [] }).text("account ACCT-123456 closed")).toBe("account ACCT-123456 closed");
  });

  test("configured secrets are removed everywhere, whatever the patterns; too-short ones are not scrubbed", () => {
    // No pattern matches these shapes: only the secrets list catches them.
    const r = redactor({ patterns: [] });
    expect(r.scrubSecrets(`key=${PROVIDER_KEY}; master ${MASTER}; short stays`)).toBe(
      `key=${REDACTED}; master ${REDACTED}; short stays`,
    );
    expect(r.text(`x${PROVIDER_KEY}x`)).toBe(`x${REDACTED}x`);
    expect(r.content({ deep: [{ v: `${PROVIDER_KEY}` }] })).toBe(`{"deep":[{"v":"${REDACTED}"}]}`);
    // A secret containing another is removed whole.
    const nested = createRedactor({ secrets: ["abcdefgh", "abcdefgh-longer"], patterns: [], maxChars: 100 });
    expect(nested.scrubSecrets("abcdefgh-longer")).toBe(REDACTED);
    // A string exactly as long as the shortest secret is still checked; shorter ones cannot hold one.
    expect(nested.scrubSecrets("abcdefgh")).toBe(REDACTED);
    expect(nested.scrubSecrets("abcdefg")).toBe("abcdefg");
  });

  test("content is cut to the configured size after redaction, so a cut never exposes part of a secret", () => {
    const r = createRedactor({ secrets: [PROVIDER_KEY], patterns: [], maxChars: 20 });
    const out = r.content(`${"a".repeat(5)}${PROVIDER_KEY}${"b".repeat(50)}`);
    expect(out).toBe(`"aaaaa${REDACTED}bbbb…[truncated]`);
    expect(out).not.toContain(PROVIDER_KEY.slice(0, 8));
    expect(r.content("short")).toBe('"short"');
  });

  test("every built-in pattern compiles and is anchored to something (no empty match)", () => {
    for (const [name, source] of Object.entries(BUILTIN_PATTERNS)) {
      expect({ name, empty: new RegExp(source).test("") }).toEqual({ name, empty: false });
    }
  });
});
