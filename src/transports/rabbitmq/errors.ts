import { firstMessage, walkErrors } from '../../error-tree.ts';
import { HeraldError } from '../../errors.ts';
import { socketErrorCodes } from '../../retry/classify.ts';

const networkCodes = new Set(socketErrorCodes);
// AMQP reply codes: 320 connection-forced (broker shutting down), 501-506 and 541 are
// connection-level failures after which a new connection may work.
const connectionReplyCodes = new Set([320, 501, 502, 503, 504, 505, 506, 541]);
// The server's max_message_size, or amqplib's 64 KiB buffer for a message's headers.
const tooLarge = /larger than (configured )?max size|message size \d+ .*max|field table .* exceeds/i;
const inequivalent = /inequivalent arg|PRECONDITION_FAILED - (cannot|invalid)/i;
const connectionGone = /connection closed|socket closed|channel closed|connection ended|write after end|ETIMEDOUT/i;
const refusedCredentials = /ACCESS[-_]REFUSED/i;
const refusedLogin = /NOT[-_]ALLOWED - (access|vhost)|vhost .* not found|handshake terminated/i;

export type Phase = 'connect' | 'publish' | 'declare' | 'consume';

/**
 * Maps an amqplib error to a HeraldError that says whether retrying can help. A server that is
 * down, shutting down, or refusing the vhost is HERALD_BROKER_UNAVAILABLE; refusing the user or
 * password is HERALD_AUTHENTICATION_FAILED, as with Kafka and PostgreSQL. Both are outages: the
 * relay's circuit opens and nothing is dead-lettered (fixing credentials or a vhost is an
 * operator's job, not a reason to give events up).
 */
export function toHeraldError(error: unknown, target: string, phase: Phase): HeraldError {
  if (error instanceof HeraldError) return error;
  // The chain of causes only, not an AggregateError's `errors`.
  const all = [...walkErrors(error, { aggregates: false })];
  const reason = firstMessage(all, error);
  const codes = all.map((e) => e.code);
  const replyCode = codes.find((c): c is number => typeof c === 'number');
  if (tooLarge.test(reason)) {
    return new HeraldError('HERALD_MESSAGE_TOO_LARGE', `RabbitMQ refused a message as too large: ${reason}`, {
      cause: error,
      details: { replyCode: replyCode ?? null },
    });
  }
  if (phase === 'connect' && refusedCredentials.test(reason)) {
    return new HeraldError(
      'HERALD_AUTHENTICATION_FAILED',
      `RabbitMQ at ${target} refused the login (check the user and password): ${reason}`,
      { cause: error, retriable: true, details: { replyCode: replyCode ?? null } },
    );
  }
  if (phase === 'connect' && refusedLogin.test(reason)) {
    return new HeraldError(
      'HERALD_BROKER_UNAVAILABLE',
      `RabbitMQ at ${target} refused the connection (check the user, password and vhost): ${reason}`,
      { cause: error, retriable: true, details: { replyCode: replyCode ?? null } },
    );
  }
  if (replyCode === 406 && inequivalent.test(reason)) {
    return new HeraldError(
      'HERALD_INVALID_CONFIG',
      `RabbitMQ has an exchange or queue of that name with other settings (delete it, or use the settings it has): ${reason}`,
      { cause: error, details: { replyCode } },
    );
  }
  const unreachable =
    phase === 'connect' ||
    codes.some((c) => typeof c === 'string' && networkCodes.has(c)) ||
    (replyCode !== undefined && connectionReplyCodes.has(replyCode)) ||
    (replyCode === undefined && connectionGone.test(reason));
  if (unreachable) {
    return new HeraldError('HERALD_BROKER_UNAVAILABLE', `cannot reach RabbitMQ at ${target}: ${reason}`, {
      cause: error,
      retriable: true,
      details: { replyCode: replyCode ?? null },
    });
  }
  if (phase === 'publish') {
    return new HeraldError('HERALD_PUBLISH_FAILED', `RabbitMQ did not acknowledge the batch: ${reason}`, {
      cause: error,
      retriable: true,
      details: { replyCode: replyCode ?? null },
    });
  }
  // A declaration or a consumer the server refused (permissions, a queue deleted under it): a
  // new attempt, after an operator's fix, may work.
  return new HeraldError('HERALD_BROKER_UNAVAILABLE', `RabbitMQ at ${target} refused the ${phase}: ${reason}`, {
    cause: error,
    retriable: true,
    details: { replyCode: replyCode ?? null },
  });
}
