// Reading the errors of the database and broker clients: an error may wrap others in an AggregateError's
// `errors` (a connection tried on several addresses) or in its `cause`, and the facts a transport
// maps to a HeraldError (a code, a name, a message) may sit anywhere in that tree.

/** What Herald reads from an error of a broker client; any of it may be missing. */
export interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  errors?: unknown;
  cause?: unknown;
}

/** How deep walkErrors goes (an error at depth 9 or below is not read). */
const MAX_DEPTH = 8;

export interface WalkOptions {
  /** Descend into an AggregateError's `errors` (default true); false follows `cause` only. */
  aggregates?: boolean;
}

/**
 * Every error in a tree of AggregateErrors and causes, depth-first: the error itself, then each of
 * its `errors`, then its `cause`. What is not an object is skipped, and so is anything deeper than
 * 8 levels (a cycle ends there).
 */
export function* walkErrors<T extends ErrorLike = ErrorLike>(
  error: unknown,
  { aggregates = true }: WalkOptions = {},
  depth = 0,
): Generator<T> {
  if (depth > MAX_DEPTH || typeof error !== 'object' || error === null) return;
  const e = error as T;
  yield e;
  if (aggregates && Array.isArray(e.errors)) {
    for (const inner of e.errors) yield* walkErrors<T>(inner, { aggregates }, depth + 1);
  }
  if (e.cause) yield* walkErrors<T>(e.cause, { aggregates }, depth + 1);
}

/** The non-empty messages of the errors, in order. */
export function errorMessages(all: readonly ErrorLike[]): string[] {
  return all.map((e) => e.message).filter((m): m is string => typeof m === 'string' && m.length > 0);
}

/** The first non-empty message of the errors, or `String(error)` if none has one. */
export function firstMessage(all: readonly ErrorLike[], error: unknown): string {
  return errorMessages(all)[0] ?? String(error);
}
