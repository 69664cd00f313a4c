/** Structural JSON comparison for `openapi --check`: key order is ignored, each difference is named by its JSON pointer. */

export interface JsonDifference {
  pointer: string;
  kind: "changed" | "added" | "removed";
  /** Value in the committed file (absent when added). */
  old?: unknown;
  /** Value in the generated document (absent when removed). */
  new?: unknown;
}

const escapePointer = (key: string) => key.replace(/~/g, "~0").replace(/\//g, "~1");

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every place where `before` and `after` differ, depth first, sorted keys. */
export function diffJson(before: unknown, after: unknown, pointer = ""): JsonDifference[] {
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: JsonDifference[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      const at = `${pointer}/${i}`;
      if (i >= before.length) out.push({ pointer: at, kind: "added", new: after[i] });
      else if (i >= after.length) out.push({ pointer: at, kind: "removed", old: before[i] });
      else out.push(...diffJson(before[i], after[i], at));
    }
    return out;
  }
  if (isObject(before) && isObject(after)) {
    const out: JsonDifference[] = [];
    for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
      const at = `${pointer}/${escapePointer(key)}`;
      if (!(key in before)) out.push({ pointer: at, kind: "added", new: after[key] });
      else if (!(key in after)) out.push({ pointer: at, kind: "removed", old: before[key] });
      else out.push(...diffJson(before[key], after[key], at));
    }
    return out;
  }
  return Object.is(before, after) ? [] : [{ pointer: pointer || "/", kind: "changed", old: before, new: after }];
}

const short = (value: unknown, max = 160): string => {
  const text = JSON.stringify(value) ?? "undefined";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};

/** One line per difference: `~ /pointer: old -> new`, `+ /pointer: new`, `- /pointer: old`. */
export function formatDifference(d: JsonDifference): string {
  if (d.kind === "added") return `+ ${d.pointer}: (absent) -> ${short(d.new)}`;
  if (d.kind === "removed") return `- ${d.pointer}: ${short(d.old)} -> (absent)`;
  return `~ ${d.pointer}: ${short(d.old)} -> ${short(d.new)}`;
}
