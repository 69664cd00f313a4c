/**
 * The function names MCP tools are offered under. Two servers may both have a `search` tool, and every provider
 * restricts function names, so a tool is offered as `<server>__<tool>`:
 * - each part has every character outside `[A-Za-z0-9_-]` replaced by `_` (the set OpenAI, Anthropic, Gemini and
 *   Bedrock all accept), and a name that would not start with a letter or `_` (Gemini's rule) gets a leading `_`;
 * - a name longer than 64 characters (the common limit), or equal to one already taken (a reserved name such as a
 *   built-in tool or one of the client's own functions, or an earlier server's tool after sanitizing), is cut to
 *   55 characters and ended with `_` and 8 hex characters of a SHA-256 of the server and tool names.
 * The result is deterministic for a given request, so the model's calls map back to the same server and tool in
 * every round.
 */
import { createHash } from "node:crypto";

export const MAX_TOOL_NAME_LENGTH = 64;
const SEPARATOR = "__";
const HASH_LENGTH = 8;

const sanitize = (part: string) => part.replace(/[^A-Za-z0-9_-]/g, "_");

function hashed(base: string, server: string, tool: string, attempt: number): string {
  const digest = createHash("sha256").update(`${server}\0${tool}\0${attempt}`).digest("hex").slice(0, HASH_LENGTH);
  return `${base.slice(0, MAX_TOOL_NAME_LENGTH - HASH_LENGTH - 1)}_${digest}`;
}

/** One offered name per `(server, tool)` pair, in order, unique among themselves and distinct from `reserved`. */
export function offeredNames(
  pairs: readonly { server: string; tool: string }[],
  reserved: ReadonlySet<string> = new Set(),
): string[] {
  const taken = new Set(reserved);
  return pairs.map(({ server, tool }) => {
    let base = `${sanitize(server)}${SEPARATOR}${sanitize(tool)}`;
    if (!/^[A-Za-z_]/.test(base)) base = `_${base}`;
    let name = base;
    for (let attempt = 0; name.length > MAX_TOOL_NAME_LENGTH || taken.has(name); attempt++)
      name = hashed(base, server, tool, attempt);
    taken.add(name);
    return name;
  });
}
