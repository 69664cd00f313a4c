/**
 * The text the model gets for one code execution (docs/behaviour/tools.md#result-text), shared by the remote and the
 * embedded sandbox.
 */
import { TOOL_ERROR_PREFIX } from "../types";

export interface SandboxResult {
  stdout: string;
  stderr: string;
  returnCode: number | null;
  files: readonly string[];
}

/**
 * Sections joined by `\n`: `stdout:\n…` (if non-empty), `stderr:\n…` (if non-empty), `return_code: n` (if not 0 or
 * null), `files: a, b` (if any); `(no output)` when empty. A non-zero return code, or stderr without stdout,
 * prefixes `[tool error] `.
 */
export function renderSandboxResult(result: SandboxResult): string {
  const sections: string[] = [];
  if (result.stdout) sections.push(`stdout:\n${result.stdout}`);
  if (result.stderr) sections.push(`stderr:\n${result.stderr}`);
  if (result.returnCode !== null && result.returnCode !== 0) sections.push(`return_code: ${result.returnCode}`);
  if (result.files.length > 0) sections.push(`files: ${result.files.join(", ")}`);
  const text = sections.length > 0 ? sections.join("\n") : "(no output)";
  const failed =
    (result.returnCode !== null && result.returnCode !== 0) || (result.stderr !== "" && result.stdout === "");
  return failed ? `${TOOL_ERROR_PREFIX}${text}` : text;
}

/** A failure of the tool itself (bad arguments, a timeout, a dead sandbox), as text for the model. */
export function toolError(message: string): string {
  return `${TOOL_ERROR_PREFIX}${message}`;
}

/** The `code` argument of a call, or null when it is missing or not a string. */
export function codeArgument(args: unknown): string | null {
  if (typeof args !== "object" || args === null) return null;
  const code = (args as Record<string, unknown>).code;
  return typeof code === "string" ? code : null;
}
