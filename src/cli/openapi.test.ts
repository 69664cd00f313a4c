import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config/load";
import { createGateway, type Gateway } from "../gateway";
import { diffJson, formatDifference } from "./_json-diff";
import { generateOpenApiDocument, serializeDocument } from "./openapi";

const dir = mkdtempSync(join(tmpdir(), "gw-openapi-"));
let gateway: Gateway | null = null;

afterAll(async () => {
  await gateway?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("gateway openapi", () => {
  test("prints exactly what a running server's /openapi.json serves, with a non-default config", async () => {
    const config = loadConfig({
      configPath: null,
      env: {},
      cwd: dir,
      flags: {
        database_url: `sqlite:///${join(dir, "gw.db")}`,
        master_key: "openapi-test-master",
        max_request_body_bytes: 1024,
        bootstrap_api_key: false,
      },
    });
    gateway = await createGateway(config, { printSecret: () => undefined });
    const res = await gateway.app.handle(new Request("http://localhost/openapi.json"));
    expect(res.status).toBe(200);
    const served = await res.json();
    const generated = JSON.parse(serializeDocument(await generateOpenApiDocument()));
    expect(diffJson(served, generated).map(formatDifference)).toEqual([]);
    expect(served).toEqual(generated);
  });

  test("the committed docs/openapi.json is the generated document", async () => {
    const committed = JSON.parse(readFileSync(join(import.meta.dir, "..", "..", "docs", "openapi.json"), "utf8"));
    const generated = JSON.parse(serializeDocument(await generateOpenApiDocument()));
    // On failure: bun run openapi:write
    expect(diffJson(committed, generated).map(formatDifference)).toEqual([]);
  });
});

describe("diffJson", () => {
  test("ignores key order and names each difference by its JSON pointer", () => {
    const before = { b: 1, a: { "x/y": [1, 2, 3], "m~n": "old" }, gone: true };
    const after = { a: { "m~n": "new", "x/y": [1, 2] }, b: 1, added: null };
    expect(diffJson({ p: 1, q: [1, { r: 2 }] }, { q: [1, { r: 2 }], p: 1 })).toEqual([]);
    expect(diffJson(before, after).map(formatDifference)).toEqual([
      '~ /a/m~0n: "old" -> "new"',
      "- /a/x~1y/2: 3 -> (absent)",
      "+ /added: (absent) -> null",
      "- /gone: true -> (absent)",
    ]);
  });

  test("a type change is one difference at that pointer", () => {
    expect(diffJson({ a: { b: 1 } }, { a: [1] })).toEqual([
      { pointer: "/a", kind: "changed", old: { b: 1 }, new: [1] },
    ]);
    expect(diffJson(1, 2)).toEqual([{ pointer: "/", kind: "changed", old: 1, new: 2 }]);
  });
});
