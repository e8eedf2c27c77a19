import { invalidSetting } from '../../config/check.ts';
import { checkDestination } from '../../config/names.ts';
import { HeraldError } from '../../errors.ts';
import type { Channel } from './client.ts';
import type { QueueType, RabbitMQSettings } from './options.ts';

/**
 * Herald's topology on RabbitMQ, per destination D (exchange E = exchangeFor(D), default D):
 *
 * - E, a durable direct exchange; a message goes with routing key p = partition of its key;
 * - `D.<group>.<p>`, one durable queue per consumer group and partition, bound to E with key p,
 *   with single active consumer (one member at a time, so per-key order) and D.dlx as its
 *   dead-letter exchange;
 * - D.dlx, a durable fanout exchange, and the queue D.dlx bound to it: what RabbitMQ itself
 *   dead-letters (a reject, an expired TTL, a quorum queue's delivery limit) waits there;
 * - for a dead-letter destination (a name ending in `.dlq`), the queue D itself bound for every
 *   partition: Herald's consumers publish their dead letters there, and with `mandatory`
 *   publishing they need a queue to land in even when no group reads them.
 */
export interface Topology {
  exchange: string;
  partitions: number;
  /** The dead-letter exchange of the group queues, and its queue. */
  dlx: string;
  /** The queue that keeps a `.dlq` destination's messages; null for other destinations. */
  parkingQueue: string | null;
}

export const dlxSuffix = '.dlx';
const dlqSuffix = '.dlq';

/** Names RabbitMQ keeps for itself, and names too long for it (255 bytes), are refused. */
function checkName(name: string, what: string, destination: string): void {
  if (name.startsWith('amq.') || Buffer.byteLength(name) > 255 || name.length === 0) {
    throw new HeraldError(
      'HERALD_INVALID_DESTINATION',
      `${what} ${JSON.stringify(name)} of destination ${JSON.stringify(destination)} is not a RabbitMQ name (1-255 bytes, not starting with amq.)`,
      { details: { destination, name } },
    );
  }
}

export function topologyOf(settings: RabbitMQSettings, destination: string): Topology {
  checkDestination(destination, 'RabbitMQ destination');
  if (destination.endsWith(dlxSuffix)) {
    throw new HeraldError(
      'HERALD_INVALID_DESTINATION',
      `${JSON.stringify(destination)}: names ending in ${dlxSuffix} are the RabbitMQ transport's dead-letter exchanges`,
      { details: { destination } },
    );
  }
  const exchange = settings.exchangeFor(destination);
  if (typeof exchange !== 'string') {
    throw invalidSetting(
      `exchangeFor(${JSON.stringify(destination)})`,
      'must be a string (an exchange name)',
      exchange,
    );
  }
  checkName(exchange, 'exchange', destination);
  const dlx = `${destination}${dlxSuffix}`;
  checkName(dlx, 'dead-letter exchange', destination);
  return {
    exchange,
    partitions: settings.partitionsFor(destination),
    dlx,
    parkingQueue: destination.endsWith(dlqSuffix) ? destination : null,
  };
}

/** The queue of a consumer group for one partition of a destination. */
export function queueName(destination: string, group: string, partition: number): string {
  const name = `${destination}.${group}.${partition}`;
  checkName(name, 'queue', destination);
  return name;
}

/**
 * Arguments of a group queue. They are part of the queue's identity: RabbitMQ refuses to declare
 * a queue again with other ones (406 PRECONDITION_FAILED), so they never change silently.
 */
function groupQueueArguments(queueType: QueueType, dlx: string): Record<string, unknown> {
  const args: Record<string, unknown> = {
    'x-queue-type': queueType,
    'x-single-active-consumer': true,
    'x-dead-letter-exchange': dlx,
  };
  // Quorum queues dead-letter at most once unless told otherwise; at-least-once needs
  // reject-publish overflow (which only matters with a length limit, and Herald sets none).
  if (queueType === 'quorum') {
    args['x-dead-letter-strategy'] = 'at-least-once';
    args['x-overflow'] = 'reject-publish';
  }
  return args;
}

/** Arguments of the queues that keep dead letters (D.dlx, and a `.dlq` destination's queue). */
function keepingQueueArguments(queueType: QueueType): Record<string, unknown> {
  return { 'x-queue-type': queueType };
}

/**
 * Declares a destination's exchange, its dead-letter exchange and queue, the queues of `groups`
 * bound to their partitions, and a `.dlq` destination's own queue. Every declaration is
 * idempotent; amqplib sends them one after the other on the channel.
 */
export async function declareTopology(
  channel: Channel,
  settings: RabbitMQSettings,
  destination: string,
  groups: readonly string[],
): Promise<void> {
  const t = topologyOf(settings, destination);
  const partitions = Array.from({ length: t.partitions }, (_, p) => p);
  const keeping = { durable: true, arguments: keepingQueueArguments(settings.queueType) };
  const calls: Promise<unknown>[] = [
    channel.assertExchange(t.exchange, 'direct', { durable: true }),
    channel.assertExchange(t.dlx, 'fanout', { durable: true }),
    channel.assertQueue(t.dlx, keeping),
    channel.bindQueue(t.dlx, t.dlx, ''),
  ];
  if (t.parkingQueue !== null) {
    calls.push(channel.assertQueue(t.parkingQueue, keeping));
    for (const p of partitions) calls.push(channel.bindQueue(t.parkingQueue, t.exchange, String(p)));
  }
  const args = { durable: true, arguments: groupQueueArguments(settings.queueType, t.dlx) };
  for (const group of groups) {
    for (const p of partitions) {
      const queue = queueName(destination, group, p);
      calls.push(channel.assertQueue(queue, args), channel.bindQueue(queue, t.exchange, String(p)));
    }
  }
  await Promise.all(calls);
}

/**
 * Kafka's murmur2 (the Java client's), so a key's partition is the one Kafka would give it for
 * the same number of partitions.
 */
export function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const whole = length - (length % 4);
  for (let i = 0; i < whole; i += 4) {
    let k = (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16);
    k |= (data[i + 3] as number) << 24;
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length % 4;
  if (rest === 3) h ^= (data[whole + 2] as number) << 16;
  if (rest >= 2) h ^= (data[whole + 1] as number) << 8;
  if (rest >= 1) h = Math.imul(h ^ (data[whole] as number), m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a key: murmur2 & 0x7fffffff, mod the destination's partitions. */
export function partitionOf(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}
