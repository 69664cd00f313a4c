/**
 * Mock upstreams for tests and benchmarks (Bun.serve on 127.0.0.1, free port by default). Each returns a
 * MockServer: `{ url, apiBase, requests, setScenario(tokens|null), reset(), stop() }`. The scenario is chosen per
 * request by the `model` name (see scenario.ts for the token list), so a test through the gateway can send
 * model `openai:error-429` or `anthropic:tools+cache` and get that behaviour.
 */
export { startAnthropicMock, MOCK_ANTHROPIC_TOOL } from "./anthropic-mock.ts";
export { MOCK_EMBEDDING, startOpenAIMock } from "./openai-mock.ts";
export type { OpenAIWireDialect } from "./openai-mock.ts";
export { MOCK_TEXT, MOCK_TOOL, MOCK_USAGE, chunkText, parseScenario } from "./scenario.ts";
export type { MockScenario } from "./scenario.ts";
export type { MockOptions, MockServer, RecordedRequest } from "./server.ts";
export { startGeminiMock } from "./gemini-mock.ts";
export { startVertexMock } from "./vertex-mock.ts";
export type { VertexMockOptions, VertexMockServer } from "./vertex-mock.ts";
export { createTestServiceAccount, createVertexFixture } from "./vertex-credentials.ts";
export type { TestServiceAccount } from "./vertex-credentials.ts";
export { startBedrockMock } from "./bedrock-mock.ts";
export { encodeFrame } from "./aws.ts";
export type { BedrockMockOptions } from "./bedrock-mock.ts";
export { startCohereMock } from "./cohere-mock.ts";
export { startAzureMock } from "./azure-mock.ts";
export { startMistralMock } from "./mistral-mock.ts";
export { startDatabricksMock } from "./databricks-mock.ts";
export { startVoyageMock } from "./voyage-mock.ts";
export { startSageMakerMock } from "./sagemaker-mock.ts";
export { startWatsonxMock } from "./watsonx-mock.ts";
export type { WatsonxMockOptions } from "./watsonx-mock.ts";
