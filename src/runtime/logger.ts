/**
 * The logger factory: consola for people on a TTY, one JSON object per line otherwise (or with log_format json).
 * One tagged logger per module: `const log = logger("keys")`.
 */
import { type ConsolaInstance, type ConsolaOptions, createConsola, LogLevels, type LogObject } from "consola/core";
import { currentRequestId, currentTraceId } from "./request-context";

export type LogFormat = "auto" | "pretty" | "json";
export type LogLevelName = "debug" | "info" | "warning" | "error" | "critical";

const LEVEL: Record<LogLevelName, number> = {
  debug: LogLevels.debug,
  info: LogLevels.info,
  warning: LogLevels.warn,
  error: LogLevels.error,
  critical: LogLevels.fatal,
};

const NAME_BY_TYPE: Record<string, string> = {
  fatal: "critical",
  error: "error",
  warn: "warning",
  log: "info",
  info: "info",
  success: "info",
  start: "info",
  ready: "info",
  box: "info",
  debug: "debug",
  trace: "debug",
  verbose: "debug",
  fail: "error",
};

function jsonReporter(write: (line: string) => void) {
  return {
    log(entry: LogObject) {
      const [first, ...rest] = entry.args;
      const fields: Record<string, unknown> = {};
      const requestId = currentRequestId();
      if (requestId) fields.request_id = requestId;
      const traceId = currentTraceId();
      if (traceId) fields.trace_id = traceId;
      const parts: string[] = [];
      for (const arg of [first, ...rest]) {
        if (arg instanceof Error) fields.error = arg.message;
        else if (arg && typeof arg === "object") Object.assign(fields, arg);
        else if (arg !== undefined) parts.push(String(arg));
      }
      write(
        `${JSON.stringify({ ts: entry.date.toISOString(), level: NAME_BY_TYPE[entry.type] ?? "info", logger: entry.tag || undefined, msg: parts.join(" "), ...fields })}\n`,
      );
    },
  };
}

/**
 * consola's main entry (its fancy reporter) inspects the terminal when imported, which loads node:tty and the stream
 * modules: about 2 MB a server logging JSON lines never needs. It is required when a person reads the log.
 */
const prettyConsola = (options: Partial<ConsolaOptions>): ConsolaInstance =>
  (require("consola") as typeof import("consola")).createConsola(options);

let root: ConsolaInstance | null = null;
let threshold: number = LEVEL.info;
/** Lines for people (consola's reporter) rather than JSON, which escapes control characters itself. */
let pretty = true;

// Tab aside, C0 and C1 controls, DEL and the Unicode line separators.
const CONTROL_CHARS = "[\\u0000-\\u0008\\u000a-\\u001f\\u007f-\\u009f\\u2028\\u2029]";
const HAS_CONTROL = new RegExp(CONTROL_CHARS);
const EVERY_CONTROL = new RegExp(CONTROL_CHARS, "g");
const SHORT_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r" };
const escapeControl = (c: string) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/**
 * A message with its control characters written as escapes: text from clients (a model name, say) must not end a
 * line, forge the next one or drive the terminal. Field values are printed inspected, which escapes them already.
 */
function printable(message: string): string {
  return HAS_CONTROL.test(message) ? message.replace(EVERY_CONTROL, escapeControl) : message;
}

/** Until `configureLogging`, the pretty logger at info (CLI commands). */
const current = (): ConsolaInstance => (root ??= prettyConsola({ level: LEVEL.info, formatOptions: { date: true } }));

/** True when lines of `level` are written: lets hot paths skip building fields for a line nobody will see. */
export function logEnabled(level: LogLevelName): boolean {
  return LEVEL[level] <= threshold;
}

/** Configures the process-wide logger once at start-up. */
export function configureLogging(opts: { level: LogLevelName; format: LogFormat; stream?: NodeJS.WriteStream }): void {
  const stream = opts.stream ?? process.stderr;
  const json = opts.format === "json" || (opts.format === "auto" && !(stream as { isTTY?: boolean }).isTTY);
  threshold = LEVEL[opts.level];
  pretty = !json;
  root = json
    ? createConsola({ level: LEVEL[opts.level], reporters: [jsonReporter((line) => stream.write(line))] })
    : prettyConsola({ level: LEVEL[opts.level], formatOptions: { date: true }, stderr: stream, stdout: stream });
}

type LogFn = (message: string, fields?: Record<string, unknown>) => void;
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
}

/** A logger tagged with the module name; it follows later `configureLogging` calls. Fields become JSON keys. */
export function logger(tag: string): Logger {
  const emit =
    (type: "debug" | "info" | "warn" | "error" | "fatal"): LogFn =>
    (message, fields) => {
      const tagged = current().withTag(tag);
      const requestId = currentRequestId();
      const all = requestId ? { request_id: requestId, ...fields } : fields;
      const text = pretty ? printable(message) : message;
      if (all) tagged[type](text, all);
      else tagged[type](text);
    };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error"), fatal: emit("fatal") };
}

/**
 * Secrets printed once at first start go straight to stderr, never through the logger
 * (docs/behaviour/auth.md#secrets-printed-once).
 */
export function printSecretOnce(line: string): void {
  process.stderr.write(`${line}\n`);
}
