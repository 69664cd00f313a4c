/** Whether a row the target already holds is the one being imported, and if not, which columns differ. */
import { canonicalJson } from "../../core/json";

const comparable = (v: unknown): unknown => {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v.getTime();
  if (typeof v === "object") return canonicalJson(v);
  return v;
};

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Column names (snake_case, as in the database) of `fields` whose values differ between the two rows. */
export function differingColumns<T extends object>(
  existing: T,
  incoming: T,
  fields: readonly (keyof T & string)[],
): string[] {
  return fields.filter((f) => comparable(existing[f]) !== comparable(incoming[f])).map(snake);
}
