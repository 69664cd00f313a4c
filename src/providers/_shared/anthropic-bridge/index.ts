import type { AnthropicEvent, AnthropicMessage, AnthropicRequest } from "../../../core/wire/index.ts";
import type { Capable } from "../../capabilities.ts";
import type { CallOptions, ProviderResult, ProviderSettings, ProviderStream } from "../../types.ts";
import { mapStream } from "../stream.ts";
import { createAnthropicEventEncoder } from "./events.ts";
import { anthropicToCanonical } from "./request.ts";
import { toAnthropicMessage } from "./response.ts";

/** /v1/messages through a provider's chat methods: Anthropic -> canonical -> (provider) -> Anthropic. */

export { anthropicToCanonical, blocksText } from "./request.ts";
export { createAnthropicEventEncoder } from "./events.ts";
export { parseToolInput, toAnthropicMessage, toAnthropicUsage } from "./response.ts";

export async function messagesViaChat(
  provider: Pick<Capable<"chat">, "chat">,
  req: AnthropicRequest,
  settings: ProviderSettings,
  options?: CallOptions,
): Promise<ProviderResult<AnthropicMessage>> {
  const result = await provider.chat({ ...anthropicToCanonical(req), stream: false }, settings, options);
  // A new body: the chat answer's `raw` text does not describe it.
  const { status, headers, usage } = result;
  return { body: toAnthropicMessage(result.body, usage), usage, status, headers };
}

export async function messagesStreamViaChat(
  provider: Pick<Capable<"stream">, "chatStream">,
  req: AnthropicRequest,
  settings: ProviderSettings,
  options?: CallOptions,
): Promise<ProviderStream<AnthropicEvent>> {
  const source = await provider.chatStream({ ...anthropicToCanonical(req), stream: true }, settings, options);
  const encoder = createAnthropicEventEncoder();
  return mapStream(
    source,
    (chunk) => encoder.push(chunk),
    () => encoder.finish(source.usage),
  );
}
