import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { API_KEY, gatewayError, settingsFor } from "../_contract/index.ts";
import { createTestServiceAccount, createVertexFixture, startVertexMock } from "../_mocks/index.ts";
import { vertexBase } from "../_shared/vertex/index.ts";
import type { ProviderSettings } from "../types.ts";
import { vertexai } from "./index.ts";

// one key pair for the file; the token URL is patched in once the mock has a port
const { account, credentialsFor, startMock, configure } = createVertexFixture(API_KEY);

const req = { model: "gemini-2.5-flash", messages: [{ role: "user", content: "Hi" }] };

describe("vertexai specifics", () => {
  test("host per location, `global` host rule, configured api_base used as-is", () => {
    const s = (
      location: string | undefined,
      apiBase = "https://{location}-aiplatform.googleapis.com",
    ): ProviderSettings => ({
      ...settingsFor({ url: "", apiBase, requests: [], setScenario() {}, reset() {}, stop: async () => {} }),
      apiBase,
      extra: location ? { location } : {},
    });
    expect(vertexBase(s("europe-west4"))).toBe("https://europe-west4-aiplatform.googleapis.com");
    expect(vertexBase(s("global"))).toBe("https://aiplatform.googleapis.com");
    expect(vertexBase(s(undefined))).toBe("https://us-central1-aiplatform.googleapis.com");
    expect(vertexBase({ ...s(undefined), extra: { env: { GOOGLE_CLOUD_LOCATION: "asia-east1" } } })).toBe(
      "https://asia-east1-aiplatform.googleapis.com",
    );
    expect(vertexBase(s("global", "http://proxy.internal"))).toBe("http://proxy.internal");
  });

  test("the model is one encoded path segment; a name with a path separator or a dot segment is a 400 with no call", async () => {
    const mock = startMock();
    try {
      for (const model of ["x/../../../other", "..", "a\tb"]) {
        const err = await gatewayError(vertexai.chat({ ...req, model }, configure(settingsFor(mock))));
        expect([err.status, err.code]).toEqual([400, "invalid_model"]);
      }
      expect(mock.requests.filter((r) => r.path.includes("/publishers/"))).toHaveLength(0);
      await vertexai.chat({ ...req, model: "gemini-2.5-flash?x=1#y" }, configure(settingsFor(mock)));
      expect(mock.requests.at(-1)?.path).toBe(
        "/v1/projects/proj-1/locations/us-east5/publishers/google/models/gemini-2.5-flash%3Fx%3D1%23y:generateContent",
      );
    } finally {
      await mock.stop();
    }
  });

  test("the access token is exchanged once and reused; a token within 60 s of expiry is replaced", async () => {
    const mock = startVertexMock({ publicKey: account.publicKey, clientEmail: account.clientEmail });
    const short = startVertexMock({
      publicKey: account.publicKey,
      clientEmail: account.clientEmail,
      tokenLifetimeS: 30,
    });
    try {
      const s = { ...settingsFor(mock), extra: { credentials: credentialsFor(mock), project: "p" } };
      await Promise.all([vertexai.chat(req, s), vertexai.chat(req, s)]);
      await vertexai.chat(req, s);
      expect(mock.tokensIssued()).toBe(1);
      const token = mock.requests.find((r) => r.path === "/token")!;
      expect(token.headers["content-type"]).toBe("application/x-www-form-urlencoded");
      expect(token.headers["x-custom-header"]).toBeUndefined();
      const s2 = { ...settingsFor(short), extra: { credentials: credentialsFor(short), project: "p" } };
      await vertexai.chat(req, s2);
      await vertexai.chat(req, s2);
      expect(short.tokensIssued()).toBe(2);
    } finally {
      await mock.stop();
      await short.stop();
    }
  });

  test("project: config, else the key's project_id, else GOOGLE_CLOUD_PROJECT, else 400", async () => {
    const mock = startVertexMock({ publicKey: account.publicKey, clientEmail: account.clientEmail });
    const dir = mkdtempSync(join(tmpdir(), "vertex-"));
    try {
      await vertexai.chat(req, { ...settingsFor(mock), extra: { credentials: credentialsFor(mock) } });
      expect(mock.requests.at(-1)!.path).toStartWith("/v1/projects/proj-from-key/locations/us-central1/");
      const noProject = JSON.stringify({ ...JSON.parse(credentialsFor(mock)), project_id: undefined });
      const path = join(dir, "sa.json");
      writeFileSync(path, noProject);
      const env = { GOOGLE_APPLICATION_CREDENTIALS: path, GOOGLE_CLOUD_PROJECT: "proj-env" };
      await vertexai.chat(req, { ...settingsFor(mock), extra: { env } });
      expect(mock.requests.at(-1)!.path).toStartWith("/v1/projects/proj-env/");
      const err = await gatewayError(vertexai.chat(req, { ...settingsFor(mock), extra: { credentials: noProject } }));
      expect([err.status, err.message]).toEqual([
        400,
        "Could not resolve GCP project ID from credentials or configuration",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await mock.stop();
    }
  });

  test("credential problems -> 500 Unable to load vertex credentials; a refused grant -> 502", async () => {
    const mock = startVertexMock({ publicKey: account.publicKey, clientEmail: account.clientEmail });
    try {
      for (const extra of [
        { project: "p" },
        { project: "p", credentials: "/nonexistent/sa.json" },
        { project: "p", credentials: '{"type":"service_account"}' },
      ]) {
        const err = await gatewayError(vertexai.chat(req, { ...settingsFor(mock), extra }));
        expect([err.status, err.message]).toEqual([500, "Unable to load vertex credentials"]);
      }
      const other = createTestServiceAccount(mock.tokenUrl, "other-key");
      const err = await gatewayError(
        vertexai.chat(req, {
          ...settingsFor(mock),
          extra: { project: "p", credentials: JSON.stringify({ ...other.json, client_email: account.clientEmail }) },
        }),
      );
      expect([err.status, err.message]).toEqual([502, "The provider rejected the gateway's credentials"]);
      expect(mock.tokensIssued()).toBe(0);
    } finally {
      await mock.stop();
    }
  });
});
