import { errorMessages, walkErrors } from '../../error-tree.ts';
import { HeraldError } from '../../errors.ts';
import { socketErrorCodes } from '../../retry/classify.ts';

/** JetStream API error codes (`err_code`) Herald tells apart. */
export const apiCodes = {
  consumerNotFound: 10014,
  streamNotFound: 10059,
  streamNameInUse: 10058,
  messageTooLarge: 10054,
  expectedStreamMismatch: 10060,
  subjectsOverlap: 10065,
  jetStreamNotEnabledForAccount: 10039,
} as const;

/** The JetStream API error code in an error tree, if any. */
export function apiCode(error: unknown): number | undefined {
  // JetStream API codes are 10000 and up; status errors carry HTTP-like codes (409, 503).
  for (const e of walkErrors(error)) if (typeof e.code === 'number' && e.code >= 10_000) return e.code;
  return undefined;
}

const unreachableNames = new Set([
  'ConnectionError',
  'ClosedConnectionError',
  'DrainingConnectionError',
  'TimeoutError',
  'NoResponders',
  'JetStreamNotEnabled',
]);
const unreachableCodes = new Set(socketErrorCodes);
const credentialsNames = new Set(['AuthorizationError', 'UserAuthenticationExpiredError']);

/**
 * Maps an error of the NATS client or the JetStream API to a HeraldError that says whether
 * retrying can help. A server that cannot be reached, does not answer in time, refuses the
 * credentials or has no JetStream answering (yet: it is starting) is HERALD_BROKER_UNAVAILABLE, so
 * the relay keeps the event and retries without counting attempts; a message over the
 * connection's max_payload or the stream's max_msg_size is HERALD_MESSAGE_TOO_LARGE (not
 * retriable: the relay dead-letters it).
 */
export function toHeraldError(error: unknown, target: string): HeraldError {
  if (error instanceof HeraldError) return error;
  const all = [...walkErrors(error)];
  const messages = errorMessages(all);
  const reason = messages[0] ?? String(error);
  const code = apiCode(error);
  const details = code === undefined ? {} : { apiCode: code };
  const said = (pattern: RegExp) => messages.some((m) => pattern.test(m));
  if (code === apiCodes.messageTooLarge || said(/max_payload|message size exceeds maximum/i)) {
    return new HeraldError('HERALD_MESSAGE_TOO_LARGE', `NATS refused a message as too large: ${reason}`, {
      cause: error,
      details,
    });
  }
  if (code === apiCodes.expectedStreamMismatch || code === apiCodes.subjectsOverlap) {
    return new HeraldError('HERALD_INVALID_DESTINATION', `NATS: the subject belongs to another stream: ${reason}`, {
      cause: error,
      details,
    });
  }
  if (all.some((e) => typeof e.name === 'string' && credentialsNames.has(e.name))) {
    return new HeraldError('HERALD_BROKER_UNAVAILABLE', `NATS at ${target} refused the credentials: ${reason}`, {
      cause: error,
      retriable: true,
    });
  }
  if (code === apiCodes.jetStreamNotEnabledForAccount) {
    return new HeraldError(
      'HERALD_BROKER_UNAVAILABLE',
      `NATS at ${target} has no JetStream for this account: ${reason}`,
      {
        cause: error,
        retriable: true,
        details,
      },
    );
  }
  // The client itself refused the message (a header name or value NATS cannot carry): sending it
  // again cannot help.
  if (all.some((e) => e.name === 'InvalidArgumentError')) {
    return new HeraldError('HERALD_PUBLISH_FAILED', `the NATS client refused the message: ${reason}`, {
      cause: error,
      details,
    });
  }
  const unreachable =
    all.some((e) => typeof e.name === 'string' && unreachableNames.has(e.name)) ||
    all.some((e) => typeof e.code === 'string' && unreachableCodes.has(e.code)) ||
    said(/heartbeats missed|no responders|jetstream is not enabled|server shutdown/i);
  if (unreachable && code === undefined) {
    const why = said(/no responders|jetstream is not enabled/i) ? `JetStream does not answer (${reason})` : reason;
    return new HeraldError('HERALD_BROKER_UNAVAILABLE', `cannot reach NATS at ${target}: ${why}`, {
      cause: error,
      retriable: true,
    });
  }
  return new HeraldError('HERALD_PUBLISH_FAILED', `NATS did not acknowledge the message: ${reason}`, {
    cause: error,
    retriable: true,
    details,
  });
}
