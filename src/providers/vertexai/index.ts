import { createGeminiWireProvider } from "../_shared/gemini/index.ts";
import { vertexAuth, vertexModelUrl } from "../_shared/vertex/index.ts";

/**
 * Gemini on Vertex AI (docs/behaviour/providers.md#vertex-ai): the generateContent body of AI Studio on
 * `{base}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent`
 * (https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/projects.locations.endpoints/generateContent),
 * authorised with a service-account access token. Embeddings (`:predict`) and model discovery are not offered.
 */
export const vertexai = createGeminiWireProvider({
  name: "vertexai",
  modelUrl: (s, model, method) => vertexModelUrl(s, "google", model, method),
  auth: vertexAuth,
});
