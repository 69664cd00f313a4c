/**
 * Structured output for the mocks: a request that asks for JSON (chat `response_format`, Responses `text.format`)
 * gets a value that fits the JSON schema it sent, built from the schema alone (strings "mock", numbers 42, the first
 * enum value, every property present), so a client that validates the object against its own schema accepts it.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** A value that satisfies `schema` (the subset of JSON Schema that structured-output schemas use). */
export function exampleOf(schema: unknown, depth = 0): unknown {
  if (!isObj(schema) || depth > 8) return {};
  if (Array.isArray(schema["enum"]) && schema["enum"].length > 0) return schema["enum"][0];
  if ("const" in schema) return schema["const"];
  const variants = schema["anyOf"] ?? schema["oneOf"];
  if (Array.isArray(variants) && variants.length > 0)
    return exampleOf(variants.find((v) => !(isObj(v) && v["type"] === "null")) ?? variants[0], depth + 1);
  const type = Array.isArray(schema["type"]) ? schema["type"].find((t) => t !== "null") : schema["type"];
  switch (type) {
    case "string":
      return "mock";
    case "number":
    case "integer":
      return 42;
    case "boolean":
      return true;
    case "null":
      return null;
    case "array": {
      const min = typeof schema["minItems"] === "number" ? schema["minItems"] : 1;
      return Array.from({ length: Math.max(1, min) }, () => exampleOf(schema["items"], depth + 1));
    }
    default: {
      const props = isObj(schema["properties"]) ? schema["properties"] : {};
      return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, exampleOf(v, depth + 1)]));
    }
  }
}

/** The JSON text a chat request's `response_format` asks for, or null for plain text. */
export function chatStructuredText(body: Obj): string | null {
  const format = body["response_format"];
  if (!isObj(format)) return null;
  if (format["type"] === "json_schema")
    return JSON.stringify(exampleOf(isObj(format["json_schema"]) ? format["json_schema"]["schema"] : {}));
  if (format["type"] === "json_object") return JSON.stringify({ answer: "mock" });
  return null;
}

/** The JSON text a Responses request's `text.format` asks for, or null for plain text. */
export function responsesStructuredText(body: Obj): string | null {
  const format = isObj(body["text"]) ? body["text"]["format"] : null;
  if (!isObj(format)) return null;
  if (format["type"] === "json_schema") return JSON.stringify(exampleOf(format["schema"]));
  if (format["type"] === "json_object") return JSON.stringify({ answer: "mock" });
  return null;
}
