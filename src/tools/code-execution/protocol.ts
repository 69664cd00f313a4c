/**
 * The JSON-lines protocol between the gateway and its sandbox worker child (`gateway sandbox-worker`).
 * One JSON object per line on the child's stdin (requests) and stdout (replies); the child's stderr is a log.
 */

/** Parent -> child: run one snippet in the session's namespace. */
export interface ExecRequest {
  id: number;
  code: string;
}

/** Child -> parent, once, when the interpreter is loaded and hardened. */
export interface ReadyMessage {
  type: "ready";
  loadMs: number;
}

/** Child -> parent: the result of one ExecRequest. */
export interface ExecReply {
  type: "result";
  id: number;
  stdout: string;
  stderr: string;
  returnCode: number;
  /** The interpreter is gone: the worker exits right after this reply. */
  final?: boolean;
}

/** Child -> parent: the worker cannot go on (it exits right after). */
export interface FatalMessage {
  type: "fatal";
  message: string;
}

export type WorkerMessage = ReadyMessage | ExecReply | FatalMessage;

/** Options the parent passes to the child as flags (tools never read the environment). */
export interface WorkerOptions {
  /** Cap of the interpreter's heap (wasm linear memory), MiB. */
  memoryMb: number;
  /** Bytes kept per stream (stdout, stderr) per call; the rest is dropped with a note. */
  outputCapBytes: number;
  /** Run code even when the seccomp confinement cannot be installed (the operator opted out); default false. */
  allowUnconfined: boolean;
}

export const DEFAULT_OUTPUT_CAP_BYTES = 64 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses one line from the child; anything that is not a protocol message gives null. */
export function parseWorkerMessage(line: string): WorkerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isRecord(value)) return null;
  if (value.type === "ready" && typeof value.loadMs === "number") return { type: "ready", loadMs: value.loadMs };
  if (value.type === "fatal" && typeof value.message === "string") return { type: "fatal", message: value.message };
  if (
    value.type === "result" &&
    typeof value.id === "number" &&
    typeof value.stdout === "string" &&
    typeof value.stderr === "string" &&
    typeof value.returnCode === "number"
  ) {
    return {
      type: "result",
      id: value.id,
      stdout: value.stdout,
      stderr: value.stderr,
      returnCode: value.returnCode,
      final: value.final === true,
    };
  }
  return null;
}

/** Parses one request line in the child. */
export function parseExecRequest(line: string): ExecRequest | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isRecord(value) || typeof value.id !== "number" || typeof value.code !== "string") return null;
  return { id: value.id, code: value.code };
}
