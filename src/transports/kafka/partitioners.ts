import { checkObject, invalidSetting } from '../../config/check.ts';
import { namePatterns } from '../../config/names.ts';
import type { OutgoingMessage } from '../transport.ts';

/** What a custom partitioner sees of an event. */
export interface PartitionInput {
  id: string;
  type: string;
  /** The event's partition key (what `key-hash` hashes). */
  key: string;
  topic: string;
  /** The record's headers: the CloudEvents attributes as `ce_<name>` (e.g. `ce_userid`). */
  headers: Readonly<Record<string, string>>;
}

/**
 * How an event's Kafka partition is chosen:
 * - `key-hash` (the default): Java's murmur2 of the partition key, so one key's events keep their order;
 * - `round-robin`: the topic's partitions in turn, for events that need no order (load spreads evenly);
 * - a function: a number is the partition (taken modulo the topic's partition count); a string is
 *   hashed like a key instead of the partition key (e.g. `(e) => e.headers.ce_userid`), so events
 *   sharing it keep their order.
 */
export type Partitioner = 'key-hash' | 'round-robin' | ((event: PartitionInput) => number | string);

const names = ['key-hash', 'round-robin'];

export function checkPartitioner(name: string, value: unknown): Partitioner {
  if (value === undefined) return 'key-hash';
  if (typeof value === 'function' || names.includes(value as string)) return value as Partitioner;
  throw invalidSetting(name, "must be 'key-hash', 'round-robin' or a function (event) => partition | key", value);
}

export function checkPartitionerByType(value: unknown): Readonly<Record<string, Partitioner>> {
  if (value === undefined) return {};
  checkObject(value, 'partitionerByType');
  const out: Record<string, Partitioner> = {};
  for (const [type, p] of Object.entries(value)) {
    if (!namePatterns.eventType.test(type)) {
      throw invalidSetting('partitionerByType', 'has a key that is not an event type', type);
    }
    out[type] = checkPartitioner(`partitionerByType['${type}']`, p);
  }
  return out;
}

/**
 * The partition each message goes to, or undefined for the producer's own key hash. `hash` is
 * the client's Java-compatible murmur2, so a string from a custom partitioner lands where the
 * same key would.
 */
export function partitionAssigner(
  partitioner: Partitioner,
  byType: Readonly<Record<string, Partitioner>>,
  hash: (key: Buffer) => number,
): (m: OutgoingMessage) => number | undefined {
  const turns = new Map<string, number>();
  const custom = partitioner !== 'key-hash' || Object.keys(byType).length > 0;
  if (!custom) return () => undefined;
  return (m) => {
    const type = m.headers.ce_type ?? '';
    const p = byType[type] ?? partitioner;
    if (p === 'key-hash') return undefined;
    if (p === 'round-robin') {
      const turn = turns.get(m.topic) ?? 0;
      turns.set(m.topic, (turn + 1) % 0x7fffffff);
      return turn;
    }
    const chosen = p({ id: m.id, type, key: m.key, topic: m.topic, headers: m.headers });
    if (typeof chosen === 'string') return hash(Buffer.from(chosen));
    if (!Number.isSafeInteger(chosen) || chosen < 0) {
      throw invalidSetting(
        `the partitioner of ${type}`,
        `must return a whole number >= 0 or a string to hash (event ${m.id})`,
        chosen,
      );
    }
    return chosen;
  };
}
