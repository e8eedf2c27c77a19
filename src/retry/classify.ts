import { walkErrors } from '../error-tree.ts';
import { isHeraldError } from '../errors.ts';

/**
 * What a failure means for the operation that met it; the one classification every retry loop
 * of Herald uses (relay, consumer, replay, listener):
 * - `outage`: the database or broker is not there right now. Retried without limit, at the
 *   backoff's pace, and never counted against a message: it is not the message's fault.
 * - `retriable`: this attempt failed, another may succeed (a refused batch, a handler that threw).
 *   Counted; after the allowed attempts the message is dead-lettered.
 * - `permanent`: the same input fails the same way again (a payload the schema refuses, a
 *   NonRetriableError, a database error about the data). Given up on at once.
 */
export type ErrorKind = 'outage' | 'retriable' | 'permanent';

/** Node's socket and DNS error codes after which a server may answer again later: the one list. */
export const socketErrorCodes: readonly string[] = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
];
const socketCodes = new Set(socketErrorCodes);

/** Node's codes for a TLS peer whose certificate does not verify: the one list. */
export const tlsErrorCodes: readonly string[] = [
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
];
const tlsCodes = new Set(tlsErrorCodes);

/**
 * A database client's error about who is connecting, not about the data: a refused password
 * (SQLSTATE 28P01, 28000), a missing privilege (42501), a certificate that does not verify.
 */
export function isAccessError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '42501' || code === '28P01' || code === '28000' || isTlsError(error);
}

/** Whether an error (a client's, or one it wraps) is a TLS handshake that did not verify. */
export function isTlsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && tlsCodes.has(code);
}

/**
 * SQLSTATEs that mean "the server is not there right now": class 08 (connection exception),
 * 57P01-03 (admin shutdown, crash shutdown, cannot connect now) and 53300 (too many connections).
 */
function isUnavailableState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

/** node-postgres' own words for a connection that went away. */
const connectionGone = /Connection terminated|connection timeout|Client has encountered a connection error/i;

/** Whether a database client's error means the server could not be reached or dropped us. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (socketCodes.has(code) || isUnavailableState(code))) return true;
  return connectionGone.test(error.message);
}

/**
 * A PostgreSQL error about the values themselves (SQLSTATE class 22, data exception: a NUL byte
 * in text, an invalid escape in jsonb, a number out of range). The same values fail again: never
 * an outage, never worth retrying.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code);
}

/**
 * The database, broker or schema registry is away, or refuses Herald for who it is (credentials,
 * TLS, a missing grant: an operator must act, and the message is not at fault): retried without
 * end and never counted against a message.
 */
export function isOutage(error: unknown): boolean {
  return (
    isHeraldError(error, 'HERALD_DATABASE_UNAVAILABLE') ||
    isHeraldError(error, 'HERALD_BROKER_UNAVAILABLE') ||
    isHeraldError(error, 'HERALD_REGISTRY_UNAVAILABLE') ||
    isHeraldError(error, 'HERALD_AUTHENTICATION_FAILED') ||
    isHeraldError(error, 'HERALD_TLS_FAILED') ||
    isHeraldError(error, 'HERALD_PERMISSION_DENIED') ||
    isAccessError(error) ||
    isConnectionError(error)
  );
}

/** Lock conflicts: a deadlock (40P01), a serialization failure (40001), a lock not available (55P03). */
const conflictStates = new Set(['40P01', '40001', '55P03']);

/**
 * Transactions that got in each other's way, not a fault of the statement: retrying later, or with
 * fewer locks held at once, succeeds.
 */
export function isLockConflict(error: unknown): boolean {
  for (const e of walkErrors(error, { aggregates: false })) {
    if (typeof e.code === 'string' && conflictStates.has(e.code)) return true;
  }
  return false;
}

export function classifyError(error: unknown): ErrorKind {
  if (isOutage(error)) return 'outage';
  // By name, so a NonRetriableError from another copy of Herald still counts.
  if (error instanceof Error && error.name === 'NonRetriableError') return 'permanent';
  if (isHeraldError(error)) {
    // A handler that throws Herald's "handler failed" is retried like any handler error.
    return error.retriable || error.code === 'HERALD_HANDLER_FAILED' ? 'retriable' : 'permanent';
  }
  if (isDataError(error)) return 'permanent';
  return 'retriable';
}
