import { createHash } from 'node:crypto';
import { checkDestination } from '../../config/names.ts';
import { HeraldError } from '../../errors.ts';
import type { NatsSettings } from './options.ts';

/**
 * NATS names of Herald's things: a destination's stream and subjects (one per partition), a
 * group's durable consumers, and the partition count a stream's description carries.
 */

/** The default stream name: NATS stream names may not hold `.`, so `orders.created` -> `orders_created`. */
export const defaultStreamFor = (destination: string) => destination.replaceAll('.', '_');

const badDestination = (destination: string, why: string) =>
  new HeraldError('HERALD_INVALID_DESTINATION', `${JSON.stringify(destination)} ${why}`, { details: { destination } });

/**
 * Checks a destination for NATS: Herald's rule (1-249 of A-Z a-z 0-9 . _ -) and, since it is the
 * subject prefix, no empty token (no leading, trailing or doubled `.`).
 */
export function checkNatsDestination(destination: unknown, where: string): asserts destination is string {
  checkDestination(destination, where);
  if (destination.split('.').some((token) => token.length === 0)) {
    throw badDestination(destination, `(${where}) is not a NATS subject: a "." at its start or end, or two in a row`);
  }
}

const streamNamePattern = /^[A-Za-z0-9_-]{1,255}$/;

/** The stream of a destination, checked: NATS stream names may not hold `.`, spaces, `*`, `>` or path separators. */
export function streamOf(settings: NatsSettings, destination: string): string {
  const stream = settings.streamFor(destination);
  if (typeof stream !== 'string' || !streamNamePattern.test(stream)) {
    throw badDestination(destination, `maps to stream ${JSON.stringify(stream)}, not 1-255 of A-Z a-z 0-9 _ -`);
  }
  return stream;
}

export const subjectOf = (destination: string, partition: number) => `${destination}.${partition}`;

/**
 * A group's name as one NATS name token (consumer names and subject tokens may not hold `.`): a
 * group with dots gets them replaced by `_` and a short hash of the real name, so groups `a.b`
 * and `a_b` never share a position.
 */
export function groupToken(group: string): string {
  if (!group.includes('.')) return group;
  const hash = createHash('sha256').update(group).digest('hex').slice(0, 8);
  return `${group.replaceAll('.', '_')}-${hash}`;
}

/** The durable consumer of a group's partition: `<group>-p<n>`. */
export const consumerNameOf = (group: string, partition: number) => `${groupToken(group)}-p${partition}`;

/** A stream's partition count as Herald writes it in the stream's description: `herald partitions=N`. */
export const describeStream = (partitions: number) => `herald partitions=${partitions}`;

export function partitionsInDescription(description: string | undefined): number | null {
  const found = /\bpartitions=(\d{1,4})\b/.exec(description ?? '');
  const n = found ? Number(found[1]) : 0;
  return n >= 1 && n <= 1024 ? n : null;
}
