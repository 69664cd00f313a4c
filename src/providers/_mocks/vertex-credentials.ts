import { type KeyObject, generateKeyPairSync } from "node:crypto";
import type { ProviderSettings } from "../types.ts";
import { type VertexMockServer, startVertexMock } from "./vertex-mock.ts";

/**
 * A throwaway service-account key for tests: the private half goes in the JSON the adapter loads, the public
 * half to the Vertex mock that verifies the JWT assertions.
 */
export interface TestServiceAccount {
  json: Record<string, string>;
  publicKey: KeyObject;
  clientEmail: string;
}

export function createTestServiceAccount(
  tokenUri: string,
  keyId: string,
  projectId: string | null = "proj-from-key",
): TestServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const clientEmail = "gateway-test@proj-from-key.iam.gserviceaccount.com";
  const json: Record<string, string> = {
    type: "service_account",
    private_key_id: keyId,
    private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    client_email: clientEmail,
    client_id: "1234567890",
    token_uri: tokenUri,
  };
  if (projectId) json["project_id"] = projectId;
  return { json, publicKey, clientEmail };
}

/**
 * A Vertex mock wired to a throwaway service account: `startMock` starts one (the latest is what `configure` points
 * at), `configure` adds the credentials, project `proj-1` and location `us-east5` to a call's settings.
 */
export function createVertexFixture(keyId: string) {
  const account = createTestServiceAccount("", keyId);
  let latest: VertexMockServer | null = null;
  const credentialsFor = (m: VertexMockServer) => JSON.stringify({ ...account.json, token_uri: m.tokenUrl });
  return {
    account,
    credentialsFor,
    startMock: (): VertexMockServer =>
      (latest = startVertexMock({ publicKey: account.publicKey, clientEmail: account.clientEmail })),
    configure: (s: ProviderSettings): ProviderSettings => {
      if (!latest) throw new Error("start the Vertex mock first");
      return { ...s, extra: { credentials: credentialsFor(latest), project: "proj-1", location: "us-east5" } };
    },
  };
}
