/**
 * The inference endpoints the gateway serves, in the order of its API reference. Adding one is a descriptor file
 * here (see pipeline/endpoint.ts) plus its request schemas in src/http/routes/inference/schemas.ts.
 */
export { chat, chatFraming, USER_REQUIRED } from "./chat";
export { embeddings } from "./embeddings";
export { images } from "./images";
export { countMessageTokens, messages } from "./messages";
export { type ModerationQuery, moderations } from "./moderations";
export { rerank } from "./rerank";
export { responses, responsesFraming } from "./responses";
export { speech } from "./speech";
export { TRANSCRIPTION_UPLOAD_LIMIT, transcriptions } from "./transcriptions";
