import { type GatewayError, badRequest } from "../core/errors.ts";
import type { Provider } from "./types.ts";

/**
 * What a provider can do is which members its adapter has: there are no flags beside the methods. A capability is
 * the set of members below, present together or not at all (the contract suite fails an adapter with half a set).
 * `/v1/messages` belongs to chat: it is native on the Anthropic wire and translated through chat elsewhere.
 */
export const CAPABILITY_MEMBERS = {
  chat: ["chat", "messages"],
  stream: ["chatStream", "messagesStream"],
  embeddings: ["embed"],
  moderations: ["moderate"],
  responses: ["responses", "responsesStream"],
  models: ["listModels"],
  batches: ["createBatch", "retrieveBatch", "listBatches", "cancelBatch", "batchResults"],
  rerank: ["rerank"],
  images: ["generateImages"],
  speech: ["speech"],
  transcription: ["transcribe"],
} as const satisfies Record<string, readonly (keyof Provider)[]>;

export type Capability = keyof typeof CAPABILITY_MEMBERS;

/** Every capability, in the order the docs list them. */
export const CAPABILITIES = Object.keys(CAPABILITY_MEMBERS) as Capability[];

/** A provider known to have the members of capabilities `C`. */
export type Capable<C extends Capability> = Provider & {
  [M in (typeof CAPABILITY_MEMBERS)[C][number]]-?: NonNullable<Provider[M]>;
};

export function supports<C extends Capability>(provider: Provider, capability: C): provider is Capable<C> {
  for (const member of CAPABILITY_MEMBERS[capability]) if (typeof provider[member] !== "function") return false;
  return true;
}

/** The capabilities an adapter has, in CAPABILITIES order. */
export function capabilitiesOf(provider: Provider): Capability[] {
  return CAPABILITIES.filter((c) => supports(provider, c));
}

/** `/v1/messages` is forwarded as-is when the adapter's own wire is Anthropic's, else translated through chat. */
export const forwardsMessagesNatively = (provider: Provider): boolean =>
  provider.wire === "anthropic" && supports(provider, "chat");

/** How the refusal names each capability; "does not support moderation" is the phrase clients match. */
const REFUSAL: Record<Capability, string> = {
  chat: "chat completions",
  stream: "streaming",
  embeddings: "embeddings",
  moderations: "moderation",
  responses: "the Responses API",
  models: "model listing",
  batches: "batch operations",
  rerank: "rerank",
  images: "image generation",
  speech: "speech",
  transcription: "transcription",
};

/** The 400 for a request the provider cannot serve; `name` is the provider as the client selected it. */
export const unsupportedCapability = (name: string, capability: Capability): GatewayError =>
  badRequest(`Provider '${name}' does not support ${REFUSAL[capability]}`, "unsupported_provider");

/** The provider, typed as having `capability`; the 400 of unsupportedCapability when it has not. */
export function requireCapability<C extends Capability>(provider: Provider, capability: C, name: string): Capable<C> {
  if (!supports(provider, capability)) throw unsupportedCapability(name, capability);
  return provider;
}

/** The capability a member belongs to (each member belongs to exactly one). */
const CAPABILITY_OF = new Map<keyof Provider, Capability>(
  CAPABILITIES.flatMap((c) => CAPABILITY_MEMBERS[c].map((m) => [m, c] as const)),
);

/**
 * The 400 of unsupportedCapability unless the provider has the capability that `member` belongs to (the whole set,
 * not only that member): what a caller checks before it calls `member`.
 */
export function requireMember(provider: Provider, member: keyof Provider, name: string): void {
  const capability = CAPABILITY_OF.get(member);
  if (capability) requireCapability(provider, capability, name);
}
