import { z } from "zod";

/**
 * The longest `model` a request may name: well beyond any provider's ids (ARNs and resource paths included), short
 * enough that what is logged, stored in usage rows, echoed in errors or used as a metric label stays small.
 */
export const MAX_MODEL_NAME_LENGTH = 256;

/** `model` of every request body. */
export const requestModelSchema = z
  .string()
  .max(MAX_MODEL_NAME_LENGTH, { error: `model must be at most ${MAX_MODEL_NAME_LENGTH} characters` });
