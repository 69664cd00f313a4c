/**
 * `openapi [--write [PATH] | --check [PATH]]` (docs/cli.md#openapi): the exact document `/openapi.json` serves, built
 * without a server or the configured database (see src/openapi-document.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { defineCommand } from "citty";
import { consola } from "consola";
import type { OpenApiDocument } from "../http/docs/document";
import { generateOpenApiDocument } from "../openapi-document";
import { commonArgs } from "./_args";
import { diffJson, formatDifference } from "./_json-diff";
import { fail, UsageError } from "./_run";

export const DEFAULT_OPENAPI_PATH = "docs/openapi.json";

export { generateOpenApiDocument };

/** The document as written to disk: 2-space indented, trailing newline. */
export const serializeDocument = (doc: OpenApiDocument) => `${JSON.stringify(doc, null, 2)}\n`;

function check(path: string, doc: OpenApiDocument): void {
  if (!existsSync(path)) throw new Error(`${path} does not exist: run \`gateway openapi --write ${path}\``);
  let committed: unknown;
  try {
    committed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  // Compare through JSON so `undefined` members the document object may hold count as absent, as on the wire.
  const differences = diffJson(committed, JSON.parse(JSON.stringify(doc)));
  if (differences.length === 0) {
    consola.success(`${path} is up to date`);
    return;
  }
  process.stderr.write(
    `${path} differs from the generated document (${differences.length} difference${differences.length === 1 ? "" : "s"}; old -> new):\n`,
  );
  for (const d of differences) process.stderr.write(`${formatDifference(d)}\n`);
  process.stderr.write(`Run \`gateway openapi --write ${path}\` to update it.\n`);
  process.exit(1);
}

export const openapiCommand = defineCommand({
  meta: {
    name: "openapi",
    description: "Print the OpenAPI document (no server, no database); --write or --check a file",
  },
  args: {
    ...commonArgs,
    write: {
      type: "string",
      description: `Write the document to PATH (default ${DEFAULT_OPENAPI_PATH})`,
      valueHint: "PATH?",
    },
    check: {
      type: "string",
      description: `Compare with PATH (default ${DEFAULT_OPENAPI_PATH}); exit 1 with a diff on drift`,
      valueHint: "PATH?",
    },
  },
  async run({ args }) {
    try {
      if (args.write !== undefined && args.check !== undefined)
        throw new UsageError("Use either --write or --check, not both");
      const doc = await generateOpenApiDocument();
      if (args.check !== undefined) check(args.check || DEFAULT_OPENAPI_PATH, doc);
      else if (args.write !== undefined) {
        const path = args.write || DEFAULT_OPENAPI_PATH;
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, serializeDocument(doc));
        consola.success(`Wrote ${path}`);
      } else process.stdout.write(serializeDocument(doc));
    } catch (err) {
      fail(err, false);
    }
  },
});
