import { HeraldError } from '../errors.ts';
import { isTlsError } from '../retry/classify.ts';

/**
 * A PostgreSQL error about who is connecting, typed: a refused password (SQLSTATE 28P01, 28000),
 * a certificate that does not verify, a missing privilege (42501, the server's message names the
 * object). The server's messages never carry the password; null for any other error.
 */
export function accessError(error: unknown, target: string): HeraldError | null {
  const code = (error as { code?: unknown } | null)?.code;
  const reason = error instanceof Error ? error.message : String(error);
  if (code === '28P01' || code === '28000') {
    return new HeraldError('HERALD_AUTHENTICATION_FAILED', `PostgreSQL at ${target} refused the login: ${reason}`, {
      cause: error,
      retriable: true,
      details: { sqlstate: code },
    });
  }
  if (isTlsError(error)) {
    return new HeraldError('HERALD_TLS_FAILED', `TLS to PostgreSQL at ${target} failed: ${reason} (${code})`, {
      cause: error,
      retriable: true,
      details: { tlsCode: code },
    });
  }
  if (code === '42501') {
    return new HeraldError(
      'HERALD_PERMISSION_DENIED',
      `the database role lacks a privilege: ${reason}; grant what docs/security.md lists (herald grants)`,
      { cause: error, retriable: true, details: { sqlstate: code } },
    );
  }
  return null;
}
