/**
 * Writes the provider table of docs/behaviour/providers.md (between the provider-table markers) from the registry:
 * every provider key, how /v1/messages reaches it, default base URL, credential env vars and capabilities. `--check`
 * exits 1 when stale; tests/docs/provider-table.test.ts runs the same comparison.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { capabilitiesOf, forwardsMessagesNatively, supports } from "../src/providers/capabilities";
import { providerDefinitions } from "../src/providers/registry";

const BEGIN = "<!-- provider-table:begin -->";
const END = "<!-- provider-table:end -->";
/** The page the table lives in. */
export const PROVIDERS_DOC = join(import.meta.dir, "..", "docs", "behaviour", "providers.md");

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

if (import.meta.main) {
  const page = readFileSync(PROVIDERS_DOC, "utf8");
  const start = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  if (start < 0 || end < 0) throw new Error("docs/behaviour/providers.md has no provider-table markers");
  const next = page.slice(0, start) + renderProviderTable() + page.slice(end + END.length);
  if (process.argv.includes("--check")) {
    if (next !== page) {
      console.error("docs/behaviour/providers.md's provider table is stale: run bun scripts/gen-provider-docs.ts");
      process.exit(1);
    }
  } else writeFileSync(PROVIDERS_DOC, next);
}
