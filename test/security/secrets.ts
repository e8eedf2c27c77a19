import assert from 'node:assert/strict';
import { createLogger, type Logger } from '../../src/index.ts';

/** A Herald logger at debug level whose lines are kept, to be scanned for secrets. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }), lines };
}

/**
 * Fails naming the secret and where it was found when any of `secrets` (or its URL-encoded form)
 * occurs in any of `texts`.
 */
export function assertNoSecret(texts: readonly string[], secrets: readonly string[], where = 'output'): void {
  for (const secret of secrets) {
    const forms = new Set([secret, encodeURIComponent(secret)]);
    for (const [i, text] of texts.entries()) {
      for (const form of forms) {
        const at = text.indexOf(form);
        assert.ok(at < 0, `a secret leaked into ${where} #${i}: …${text.slice(Math.max(0, at - 80), at + 40)}…`);
      }
    }
  }
}

/**
 * Starts a private server (a secure broker, a PostgreSQL that checks passwords); a machine that
 * cannot run one (no JDK, no PostgreSQL binaries) gives the reason to skip instead.
 */
export async function startPrivate<T>(start: () => Promise<T>): Promise<{ server?: T; unavailable?: string }> {
  try {
    return { server: await start() };
  } catch (error) {
    if ((error as { unavailable?: boolean }).unavailable !== true) throw error;
    return { unavailable: (error as Error).message };
  }
}
