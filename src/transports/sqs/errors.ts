import { type ErrorLike, firstMessage, walkErrors } from '../../error-tree.ts';
import { HeraldError } from '../../errors.ts';
import { socketErrorCodes } from '../../retry/classify.ts';

interface SqsErrorLike extends ErrorLike {
  Code?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

const tooLarge = /MessageTooLong|BatchRequestTooLong|too long|too large|shorter than/i;
/** The message itself is refused: sending it again cannot succeed. */
const refusedMessage = new Set([
  'InvalidMessageContents',
  'InvalidAttributeName',
  'InvalidAttributeValue',
  'InvalidParameterValue',
  'MessageTooLong',
  'BatchRequestTooLong',
]);
const missingQueue = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);
const network = new Set([...socketErrorCodes, 'TimeoutError', 'RequestTimeout', 'NetworkingError']);
/** Credentials SQS does not take, and SQS or KMS refusing work for now: nothing message-specific. */
const unavailable = new Set([
  'CredentialsProviderError',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSecurity',
  'MissingAuthenticationToken',
  'AccessDenied',
  'AccessDeniedException',
  'KmsAccessDenied',
  'KmsThrottled',
  'ThrottlingException',
  'RequestThrottled',
  'ServiceUnavailable',
  'InternalError',
  'InternalFailure',
]);

const names = (e: SqsErrorLike) =>
  [e.name, e.code, e.Code].filter((n): n is string => typeof n === 'string' && n !== 'Error');

export function isQueueMissing(error: unknown): boolean {
  return [...walkErrors<SqsErrorLike>(error)].some((e) => names(e).some((n) => missingQueue.has(n)));
}

/**
 * Maps an @aws-sdk/client-sqs error (or a failed batch entry's code) to a HeraldError that says
 * whether retrying can help. Whatever keeps every message from going out (no connection, no answer,
 * credentials refused, throttling, a server error) is HERALD_BROKER_UNAVAILABLE: the relay retries
 * it with backoff and dead-letters nothing. A message SQS refuses as such is not retriable.
 */
export function toHeraldError(error: unknown, target: string): HeraldError {
  if (error instanceof HeraldError) return error;
  const all = [...walkErrors<SqsErrorLike>(error)];
  const codes = [...new Set(all.flatMap(names))];
  const detail = firstMessage(all, error);
  const reason = codes.length > 0 ? `${codes.join(', ')}: ${detail}` : detail;
  const options = { cause: error, details: { codes } };
  if (codes.some((c) => refusedMessage.has(c)) && tooLarge.test(reason)) {
    return new HeraldError('HERALD_MESSAGE_TOO_LARGE', `SQS refused a message as too large: ${reason}`, options);
  }
  if (codes.some((c) => missingQueue.has(c))) {
    return new HeraldError('HERALD_INVALID_DESTINATION', `SQS has no such queue: ${reason}`, options);
  }
  if (codes.some((c) => refusedMessage.has(c))) {
    return new HeraldError('HERALD_PUBLISH_FAILED', `SQS refused a message: ${reason}`, options);
  }
  const status = all.map((e) => e.$metadata?.httpStatusCode).find((s) => typeof s === 'number') as number | undefined;
  if (
    codes.some((c) => network.has(c) || unavailable.has(c)) ||
    all.some((e) => e.$fault === 'server') ||
    (status !== undefined && status >= 500)
  ) {
    return new HeraldError('HERALD_BROKER_UNAVAILABLE', `cannot use SQS at ${target}: ${reason}`, {
      ...options,
      retriable: true,
    });
  }
  return new HeraldError('HERALD_PUBLISH_FAILED', `SQS did not acknowledge the batch: ${reason}`, {
    ...options,
    retriable: true,
  });
}

/** A failed entry of a SendMessageBatch as an error of its own. */
export function entryError(entry: { Code?: string | undefined; Message?: string | undefined }): Error {
  const error = new Error(entry.Message || entry.Code || 'failed') as Error & { Code?: string };
  error.name = entry.Code ?? 'Error';
  error.Code = entry.Code ?? 'Error';
  return error;
}
