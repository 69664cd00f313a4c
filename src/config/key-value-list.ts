/**
 * The `key1=value1,key2=value2` lists of OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS (the W3C Baggage
 * format without properties): members split at `,`, keys and values trimmed, values percent-decoded.
 */

/** The list as a map; throws an Error naming the bad member. */
export function parseKeyValueList(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(",")) {
    const member = raw.trim();
    if (member === "") continue;
    const eq = member.indexOf("=");
    const key = eq > 0 ? member.slice(0, eq).trim() : "";
    if (!key) throw new Error(`'${member}' is not key=value`);
    let value: string;
    try {
      value = decodeURIComponent(member.slice(eq + 1).trim());
    } catch {
      throw new Error(`the value of '${key}' is not valid percent-encoding`);
    }
    out[key] = value;
  }
  return out;
}
