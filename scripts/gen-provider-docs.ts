/**
 * Writes the provider table of docs/behaviour/providers.md (between the provider-table markers) from the registry:
 * every provider key, how /v1/messages reaches it, default base URL, credential env vars and capabilities; and the
 * README's short form (provider and capabilities, between the provider-capabilities markers). `--check` exits 1 when
 * either is stale; tests/docs/provider-table.test.ts runs the same comparison.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { capabilitiesOf, forwardsMessagesNatively, supports } from "../src/providers/capabilities";
import { providerDefinitions } from "../src/providers/registry";

const BEGIN = "<!-- provider-table:begin -->";
const END = "<!-- provider-table:end -->";
const README_BEGIN = "<!-- provider-capabilities:begin -->";
const README_END = "<!-- provider-capabilities:end -->";
/** The page the table lives in. */
export const PROVIDERS_DOC = join(import.meta.dir, "..", "docs", "behaviour", "providers.md");
export const README = join(import.meta.dir, "..", "README.md");

/** Config keys beyond api_key / api_base / client_args that an adapter reads (docs/behaviour/providers.md). */
const EXTRA_KEYS: Record<string, string> = {
  vertexai: "`credentials`, `project`, `location`",
  vertexaianthropic: "`credentials`, `project`, `location`",
  bedrock: "`client_args.region`, `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`",
  azureopenai: "`client_args.api_version` (`v1` for the v1 paths)",
  azure: "`client_args.api_version`",
  watsonx: "`project_id` or `space_id`, `api_version`, `iam_url`",
  sagemaker: "`region`, `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`, `inference_component`",
};

export function renderProviderTable(): string {
  const rows = providerDefinitions().map((d) => {
    const a = d.adapter();
    const caps = capabilitiesOf(a).join(", ");
    const env = [...d.apiKeyEnv, ...d.apiBaseEnv].map((e) => `\`${e}\``).join(", ") || "—";
    const messages = !supports(a, "chat") ? "—" : forwardsMessagesNatively(a) ? "native" : "translated";
    return `| \`${d.name}\` | ${messages} | ${d.defaultApiBase ? `\`${d.defaultApiBase}\`` : "required (`api_base`)"} | ${env} | ${EXTRA_KEYS[d.name] ?? "—"} | ${caps} |`;
  });
  return [
    BEGIN,
    "| Key | `/v1/messages` | Default `api_base` | Env vars | Extra config keys | Capabilities |",
    "|---|---|---|---|---|---|",
    ...rows,
    END,
  ].join("\n");
}

/** The README's table: what each provider serves through the gateway. */
export function renderCapabilityTable(): string {
  const rows = providerDefinitions().map((d) => `| \`${d.name}\` | ${capabilitiesOf(d.adapter()).join(", ")} |`);
  return [README_BEGIN, "| Provider | Capabilities |", "|---|---|", ...rows, README_END].join("\n");
}

/** `path` with the text between `begin` and `end` replaced by `table` (markers included in `table`). */
function withTable(path: string, begin: string, end: string, table: string): { page: string; next: string } {
  const page = readFileSync(path, "utf8");
  const start = page.indexOf(begin);
  const stop = page.indexOf(end);
  if (start < 0 || stop < 0) throw new Error(`${path} has no ${begin} ... ${end} markers`);
  return { page, next: page.slice(0, start) + table + page.slice(stop + end.length) };
}

if (import.meta.main) {
  const files = [
    { path: PROVIDERS_DOC, ...withTable(PROVIDERS_DOC, BEGIN, END, renderProviderTable()) },
    { path: README, ...withTable(README, README_BEGIN, README_END, renderCapabilityTable()) },
  ];
  for (const f of files) {
    if (f.next === f.page) continue;
    if (process.argv.includes("--check")) {
      console.error(`${f.path}'s provider table is stale: run bun scripts/gen-provider-docs.ts`);
      process.exit(1);
    }
    writeFileSync(f.path, f.next);
  }
}
