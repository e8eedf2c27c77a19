import { HeraldError } from '../errors.ts';

const identifierPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The one place where an identifier becomes SQL text. Names are limited to lower-case letters,
 * digits and underscores (no quoting surprises, no case folding) and are then double-quoted.
 */
export function quoteIdent(name: string, what = 'schema'): string {
  if (typeof name !== 'string' || !identifierPattern.test(name)) {
    throw new HeraldError(
      'HERALD_INVALID_IDENTIFIER',
      `${what} name ${JSON.stringify(name)} must match ${identifierPattern.source}`,
      { details: { name } },
    );
  }
  return `"${name}"`;
}

/** The LISTEN/NOTIFY channel of a herald schema: one per installation. */
export function channelName(schema: string): string {
  quoteIdent(schema);
  return `${schema}_log`;
}
