/**
 * POST /v1/images/generations: a pass-through route, JSON only. Billed per image when the model's price is per
 * `image`, else by the tokens the provider reports (gpt-image models); docs/behaviour/storage.md#units.
 */
import type { ImageRequest, ImageResponse } from "../../../core/wire/index";
import { estimateTokens } from "../estimate";
import type { Endpoint } from "../pipeline/endpoint";
import { USER_REQUIRED } from "./chat";

export const images: Endpoint<ImageRequest, ImageRequest, ImageResponse> = {
  path: "/v1/images/generations",
  operation: "images",
  promptFields: ["prompt"],
  user: (body) => body.user,
  userRequired: USER_REQUIRED,
  estimate: (body, defaultOutputTokens) => ({
    ...estimateTokens([body.prompt], null, defaultOutputTokens, body.n),
    units: { image: body.n ?? 1 },
  }),
  upstream: ({ user: _user, ...rest }) => rest,
  json: "generateImages",
  billing: {
    usage: (reported) => reported,
    perRequest: false,
    units: (body) => ({ image: body.data.length }),
  },
};
