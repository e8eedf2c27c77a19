import { HeraldError } from '../../errors.ts';
import { createDeliveryQueue, type DeliveryQueue, queuedSubscription } from '../delivery-queue.ts';
import type { Delivery, PartitionLag, SubscribeOptions, Subscription } from '../transport.ts';
import {
  type Channel,
  type ChannelModel,
  type ConsumeMessage,
  closeQuietly,
  openConnection,
  withDeadline,
} from './client.ts';
import { toHeraldError } from './errors.ts';
import type { RabbitMQSettings } from './options.ts';
import { declareTopology, queueName, topologyOf } from './topology.ts';
import { fromAmqp } from './wire.ts';

interface Partition {
  topic: string;
  partition: number;
  queue: string;
  channel: Channel | null;
  /** The highest delivery tag acknowledged: acknowledging one at or below it again is a no-op. */
  acked: number;
  closed: boolean;
}

/** A call to RabbitMQ under the deadline; `what` says which in the error. */
type Call = <T>(promise: Promise<T>, what: string) => Promise<T>;

/** The group's partition queues of every topic, declared (idempotently) on `setup`. */
async function declare(setup: Channel, settings: RabbitMQSettings, options: SubscribeOptions, call: Call) {
  const partitions: Partition[] = [];
  for (const topic of options.topics) {
    await call(declareTopology(setup, settings, topic, [options.group]), `declare ${topic}`);
    const { partitions: count } = topologyOf(settings, topic);
    for (let partition = 0; partition < count; partition++) {
      const queue = queueName(topic, options.group, partition);
      partitions.push({ topic, partition, queue, channel: null, acked: 0, closed: false });
    }
  }
  return partitions;
}

/**
 * A message as a delivery: its offset is its delivery tag on the partition's channel, and ack()
 * acknowledges it with `multiple` (it and every earlier one: the port's prefix).
 */
function toDelivery(p: Partition, channel: Channel, message: ConsumeMessage): Delivery {
  const tag = message.fields.deliveryTag;
  const { key, headers } = fromAmqp(message);
  return {
    topic: p.topic,
    partition: p.partition,
    offset: String(tag),
    key,
    value: message.content,
    headers,
    ack: async () => {
      if (p.closed) {
        throw new HeraldError(
          'HERALD_BROKER_UNAVAILABLE',
          `${p.queue}: the channel closed before the acknowledgement; RabbitMQ redelivers the message`,
          { retriable: true },
        );
      }
      if (tag <= p.acked) return;
      channel.ack(message, true);
      p.acked = tag;
    },
  };
}

/**
 * Consumes each partition queue on a channel of its own with `prefetch` unacknowledged messages
 * (RabbitMQ's own bound on what waits in the delivery queue), its deliveries pushed to `queue`.
 */
async function consume(
  connection: ChannelModel,
  partitions: Partition[],
  settings: RabbitMQSettings,
  call: Call,
  queue: DeliveryQueue<Delivery>,
  fail: (error: unknown) => void,
): Promise<void> {
  for (const p of partitions) {
    const channel = await call(connection.createChannel(), 'open a channel');
    p.channel = channel;
    channel.on('error', (error: Error) => fail(error));
    channel.on('close', () => {
      p.closed = true;
      // A channel the server closed has had its 'error'; otherwise its connection closed, and
      // the connection's own 'close' (which follows at once) says why.
      setImmediate(() => fail(new Error(`connection closed (the channel of ${p.queue} closed)`)));
    });
    await call(channel.prefetch(settings.prefetch), 'set prefetch');
    const onMessage = (message: ConsumeMessage | null) => {
      if (message === null) fail(new Error(`RabbitMQ cancelled the consumer of ${p.queue} (was the queue deleted?)`));
      else queue.push(toDelivery(p, channel, message));
    };
    await call(channel.consume(p.queue, onMessage, { noAck: false }), `consume ${p.queue}`);
  }
}

/**
 * Lag per partition queue: its ready messages, not yet delivered to the group (those delivered and
 * not acknowledged, at most `prefetch` per queue, are not counted). RabbitMQ only counts: no
 * positions.
 */
async function measureLag(channel: Channel, partitions: Partition[], call: Call): Promise<PartitionLag[]> {
  const lag: PartitionLag[] = [];
  for (const p of partitions) {
    const { messageCount } = await call(channel.checkQueue(p.queue), `check ${p.queue}`);
    lag.push({ topic: p.topic, partition: p.partition, lag: messageCount });
  }
  return lag;
}

/**
 * A consumer group member: a connection of its own, and a channel per partition queue of its
 * topics. With single active consumer RabbitMQ delivers a queue to one member at a time; when that
 * member's channel closes, what it did not acknowledge goes back to the queue, in order, for the
 * next. Deliveries wait in a delivery queue for the reader; close() ends it first, so nothing is
 * read after close().
 */
export async function subscribeRabbit(settings: RabbitMQSettings, options: SubscribeOptions): Promise<Subscription> {
  const { target, timeoutMs } = settings;
  const call: Call = (promise, what) => withDeadline(promise, timeoutMs, `RabbitMQ at ${target}: ${what}`);
  let connection: ChannelModel;
  try {
    connection = await openConnection(settings, `consumer ${options.group}`);
  } catch (error) {
    throw toHeraldError(error, target, 'connect');
  }

  const queue = createDeliveryQueue<Delivery>();
  let failure: HeraldError | null = null;
  // What waits in the queue is dropped: RabbitMQ requeues it, it was never acknowledged. Once the
  // queue is over (failed, or ended at close), later errors say nothing new.
  const fail = (error: unknown) => {
    if (queue.finished) return;
    failure = toHeraldError(error, target, 'consume');
    queue.fail(failure);
  };
  connection.on('close', (error?: Error) => fail(error ?? new Error('connection closed by RabbitMQ')));

  let admin: Channel | null = null;
  /** The channel for declarations and lag, opened again if it closed. */
  const adminChannel = async () => {
    if (admin) return admin;
    const channel = await call(connection.createChannel(), 'open a channel');
    channel.on('error', () => {});
    channel.on('close', () => {
      if (admin === channel) admin = null;
    });
    admin = channel;
    return channel;
  };

  let partitions: Partition[] = [];
  try {
    partitions = await declare(await adminChannel(), settings, options, call);
    await consume(connection, partitions, settings, call, queue, fail);
  } catch (error) {
    queue.end();
    await closeQuietly(connection, timeoutMs);
    throw toHeraldError(failure ?? error, target, 'consume');
  }

  return queuedSubscription(queue, {
    async shutdown() {
      // Closing a channel is a handshake: the acknowledgements sent before it are processed first.
      // What was delivered and not acknowledged goes back to its queue, in order.
      await Promise.all(partitions.map((p) => closeQuietly(p.channel, timeoutMs)));
      await closeQuietly(connection, timeoutMs);
    },
    async lag() {
      try {
        return await measureLag(await adminChannel(), partitions, call);
      } catch (error) {
        throw toHeraldError(error, target, 'consume');
      }
    },
  });
}
