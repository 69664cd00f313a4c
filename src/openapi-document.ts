/**
 * The OpenAPI document without a server or the configured database, for `gateway openapi` and for platform mode's
 * /openapi.json (the document depends on neither config nor mode:
 * docs/behaviour/compatibility.md#the-openapi-document). The routes are mounted over services on an in-memory SQLite
 * store that is never queried (route construction only reads references), with default config; `buildOpenApiDocument`
 * stays the single source for every path.
 */
import { loadConfig } from "./config/load";
import { openStore } from "./db/client";
import { providerChecker } from "./gateway";
import { apiRoutes } from "./http/app";
import { buildOpenApiDocument, type OpenApiDocument } from "./http/docs/document";
import { createServices } from "./services";
import { createMasterKey } from "./services/master-key";

/** A directory that never holds a config.yml or .env, so the defaults are the defaults. */
const NO_CONFIG_DIR = "/nonexistent/gateway-openapi";

/** Builds the document from every API route; nothing touches a database file or the network. */
export async function generateOpenApiDocument(): Promise<OpenApiDocument> {
  const config = loadConfig({ configPath: null, env: {}, cwd: NO_CONFIG_DIR, warn: () => undefined });
  const store = openStore("sqlite:///:memory:");
  try {
    const services = createServices({
      store,
      masterKey: createMasterKey(null),
      isKnownProvider: providerChecker(config),
    });
    const ctx = {
      mode: "standalone" as const,
      services,
      config,
      draining: () => false,
      // Routes resolve the inference runtime per request, never while being mounted.
      inference: (): never => {
        throw new Error("the OpenAPI document is built without an inference runtime");
      },
      providers: (): never => {
        throw new Error("the OpenAPI document is built without an inference runtime");
      },
    };
    return buildOpenApiDocument(apiRoutes(ctx));
  } finally {
    await store.close();
  }
}
