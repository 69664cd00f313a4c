import type { GatewayError } from "../../core/errors.ts";
import { awsHttpError, awsStreamException } from "../_shared/aws/errors.ts";

/**
 * Bedrock errors (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors):
 * the AWS shapes of _shared/aws/errors.ts; stream exceptions name the shape
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html).
 */

/** Exception shape -> the HTTP status Bedrock documents for it. */
const STATUS_BY_EXCEPTION: Record<string, number> = {
  validationexception: 400,
  accessdeniedexception: 403,
  resourcenotfoundexception: 404,
  modeltimeoutexception: 408,
  modelerrorexception: 424,
  modelstreamerrorexception: 424,
  throttlingexception: 429,
  modelnotreadyexception: 429,
  servicequotaexceededexception: 400,
  internalserverexception: 500,
  serviceunavailableexception: 503,
};

export const statusOfException = (type: string): number => STATUS_BY_EXCEPTION[type.toLowerCase()] ?? 500;

export const bedrockHttpError = awsHttpError;

/** An exception frame received after the 200 (or as the first frame). */
export const bedrockStreamException = (type: string, payload: string): GatewayError =>
  awsStreamException(type, payload, statusOfException(type));
