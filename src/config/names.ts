import { HeraldError } from '../errors.ts';

/**
 * The one rule for the names Herald is given: every schema and role (SQL text), topic
 * (destination), topic prefix, consumer group and event type is checked here, against a pattern of
 * plain ASCII with a length limit, before it goes anywhere (SQL, a broker, a log line). Quotes,
 * semicolons, spaces, control characters, anything outside ASCII and overlong names are refused
 * with a typed error that shows the name escaped and cut (an error is no place for a megabyte or a
 * right-to-left override). Values (keys, ids, filters) are never SQL text: they are parameters.
 */
export const namePatterns = {
  /** Schemas and roles: lower-case letters, digits and `_`, at most 63 (no quoting surprises, no case folding). */
  identifier: /^[a-z_][a-z0-9_]{0,62}$/,
  /** Topics and other destinations: Kafka's topic rule, the narrowest of the transports'. */
  destination: /^[A-Za-z0-9._-]{1,249}$/,
  /** Consumer groups: what every transport accepts as (part of) a name. */
  group: /^[A-Za-z0-9._-]{1,200}$/,
  /** Event types: a letter or digit first, as in CloudEvents' `type`. */
  eventType: /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/,
} as const;

const shownMax = 100;

/** A name as an error shows it: JSON with everything outside printable ASCII escaped, cut at 100 characters. */
export function shownName(name: unknown): string {
  if (typeof name !== 'string') return `(${name === undefined ? 'missing' : name === null ? 'null' : typeof name})`;
  const cut = name.length > shownMax ? `${name.slice(0, shownMax)}…` : name;
  const text = JSON.stringify(cut).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return name.length > shownMax ? `${text} (${name.length} characters)` : text;
}

/** A schema or role name that becomes SQL text; `quoteIdent` in store/ quotes what passes. */
export function checkIdentifier(name: unknown, what = 'schema'): string {
  if (typeof name !== 'string' || !namePatterns.identifier.test(name)) {
    throw new HeraldError(
      'HERALD_INVALID_IDENTIFIER',
      `${what} name ${shownName(name)} must match ${namePatterns.identifier.source} (lower-case letters, digits, _; at most 63)`,
      { details: { name: typeof name === 'string' ? name.slice(0, shownMax) : null, what } },
    );
  }
  return name;
}

/** A topic (destination): 1-249 of A-Z a-z 0-9 . _ - (every transport accepts these). */
export function checkDestination(destination: unknown, where: string): asserts destination is string {
  if (typeof destination !== 'string' || !namePatterns.destination.test(destination)) {
    throw new HeraldError(
      'HERALD_INVALID_DESTINATION',
      `${where}: ${shownName(destination)} is not a valid destination (1-249 of A-Z a-z 0-9 . _ -)`,
      { details: { destination: typeof destination === 'string' ? destination.slice(0, shownMax) : null, where } },
    );
  }
}

/** A topic prefix (`<prefix>.<type>` for events without a destination): a destination itself. */
export function checkTopicPrefix(prefix: unknown, setting = 'topicPrefix'): string | undefined {
  if (prefix === undefined) return undefined;
  checkDestination(prefix, setting);
  return prefix;
}

/** A consumer group's name: 1-200 of A-Z a-z 0-9 . _ - (the consumer and every transport agree). */
export function checkGroup(group: unknown, setting = 'group'): string {
  if (typeof group !== 'string' || !namePatterns.group.test(group)) {
    throw new HeraldError(
      'HERALD_INVALID_CONFIG',
      `${setting}: ${shownName(group)} must be 1-200 of A-Z a-z 0-9 . _ -`,
      {
        details: { setting },
      },
    );
  }
  return group;
}

/** A list of consumer group names, without repeats. */
export function groupList(setting: string, value: unknown): string[] {
  if (!Array.isArray(value)) {
    throw new HeraldError('HERALD_INVALID_CONFIG', `${setting}: must be a list of consumer group names`, {
      details: { setting },
    });
  }
  for (const g of value) checkGroup(g, setting);
  return [...new Set(value as string[])];
}
