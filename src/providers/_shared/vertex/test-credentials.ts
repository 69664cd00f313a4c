import { type KeyObject, generateKeyPairSync } from "node:crypto";

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
