/**
 * JSON Schema -> the OpenAPI 3.0 subset Gemini accepts for `functionDeclarations[].parameters` and
 * `generationConfig.responseSchema` (https://ai.google.dev/api/caching#Schema). Gemini answers 400 for keywords
 * outside that subset (`$schema`, `additionalProperties`, `$ref`, `const`, `oneOf`...), so the schema is rebuilt
 * from an allow-list: local `$ref`s are inlined from `$defs`/`definitions` (recursion cut at a fixed depth),
 * `const` becomes a one-value `enum`, a `["T","null"]` type becomes `T` + `nullable`, and `oneOf` is read as `anyOf`.
 */

type Json = Record<string, unknown>;

const KEPT = new Set([
  "type",
  "format",
  "title",
  "description",
  "nullable",
  "enum",
  "maxItems",
  "minItems",
  "minProperties",
  "maxProperties",
  "minLength",
  "maxLength",
  "pattern",
  "example",
  "default",
  "minimum",
  "maximum",
  "propertyOrdering",
  "required",
]);
const MAX_REF_DEPTH = 8;

const isObject = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);

function resolveRef(ref: string, root: Json): unknown {
  const m = ref.match(/^#\/(\$defs|definitions)\/(.+)$/);
  if (!m) return undefined;
  const defs = root[m[1]!];
  return isObject(defs) ? defs[decodeURIComponent(m[2]!).replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
}

function clean(node: unknown, root: Json, depth: number): Json {
  if (!isObject(node)) return {};
  if (typeof node["$ref"] === "string") {
    const target = depth < MAX_REF_DEPTH ? resolveRef(node["$ref"], root) : undefined;
    // an unresolvable or too-deep reference degrades to "any object" rather than a 400
    return target === undefined ? { type: "object" } : clean(target, root, depth + 1);
  }
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) if (KEPT.has(key)) out[key] = value;
  if (Array.isArray(node["type"])) {
    const types = node["type"].filter((t) => t !== "null");
    if (types.length < node["type"].length) out["nullable"] = true;
    if (types.length === 1) out["type"] = types[0];
    else {
      delete out["type"];
      if (types.length > 1) out["anyOf"] = types.map((t) => ({ type: t }));
    }
  }
  if (node["const"] !== undefined && out["enum"] === undefined) out["enum"] = [node["const"]];
  // Gemini only takes string enums
  if (Array.isArray(out["enum"])) {
    out["enum"] = out["enum"].map(String);
    out["type"] ??= "string";
  }
  if (isObject(node["properties"])) {
    const props: Json = {};
    for (const [name, sub] of Object.entries(node["properties"])) props[name] = clean(sub, root, depth);
    out["properties"] = props;
  }
  if (node["items"] !== undefined)
    out["items"] = clean(Array.isArray(node["items"]) ? node["items"][0] : node["items"], root, depth);
  const union = node["anyOf"] ?? node["oneOf"];
  if (Array.isArray(union)) {
    const variants = union.filter((v) => !(isObject(v) && v["type"] === "null"));
    if (variants.length < union.length) out["nullable"] = true;
    out["anyOf"] = variants.map((v) => clean(v, root, depth));
  }
  if (Array.isArray(node["allOf"]) && node["allOf"].length === 1)
    Object.assign(out, clean(node["allOf"][0], root, depth));
  if (Array.isArray(out["required"]) && isObject(out["properties"])) {
    const props = out["properties"];
    out["required"] = out["required"].filter((r) => typeof r === "string" && r in props);
  }
  return out;
}

/** A Gemini-acceptable copy of a JSON schema (the input is not modified). */
export function toGeminiSchema(schema: unknown): Json {
  return isObject(schema) ? clean(schema, schema, 0) : { type: "object", properties: {} };
}
