import { HeraldError } from '../../errors.ts';
import { renameAttributes } from '../../wire/cloudevents.ts';
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
import { amqpPrefix, keyHeader } from './publish.ts';
import { declareTopology, queueName, topologyOf } from './topology.ts';

/** Application properties as strings: Herald writes strings, other publishers may not. */
function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** A received message as Herald reads it: `ce_` attributes, `content-type`, the key apart. */
export function fromAmqp(message: Pick<ConsumeMessage, 'properties'>): {
  key: string | null;
  headers: Record<string, string>;
} {
  const raw: Record<string, string> = {};
  let key: string | null = null;
  for (const [k, v] of Object.entries(message.properties.headers ?? {})) {
    if (v === undefined || v === null) continue;
    if (k === keyHeader) key = headerText(v);
    else raw[k] = headerText(v);
  }
  const headers = renameAttributes(raw, amqpPrefix, 'ce_');
  const contentType = message.properties.contentType;
  if (typeof contentType === 'string' && contentType.length > 0) headers['content-type'] = contentType;
  return { key, headers };
}

interface Partition {
  topic: string;
  partition: number;
  queue: string;
  channel: Channel | null;
  /** The highest delivery tag acknowledged: acknowledging one at or below it again is a no-op. */
  acked: number;
  closed: boolean;
}

/**
 * A consumer group member: a connection of its own, and a channel per partition queue of its
 * topics with `prefetch` unacknowledged messages. With single active consumer RabbitMQ delivers a
 * queue to one member at a time; when that member's channel closes, what it did not acknowledge
 * goes back to the queue, in order, for the next. A delivery's offset is its delivery tag on that
 * channel, and ack() acknowledges with `multiple` (it and every earlier one: the port's prefix).
 */
export async function subscribeRabbit(settings: RabbitMQSettings, options: SubscribeOptions): Promise<Subscription> {
  const { target, timeoutMs } = settings;
  const call = <T>(promise: Promise<T>, what: string) =>
    withDeadline(promise, timeoutMs, `RabbitMQ at ${target}: ${what}`);
  let connection: ChannelModel;
  try {
    connection = await openConnection(settings, `consumer ${options.group}`);
  } catch (error) {
    throw toHeraldError(error, target, 'connect');
  }

  const buffer: Delivery[] = [];
  const waiting = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiting]) w();
  };
  let failure: HeraldError | null = null;
  let closing = false;
  const fail = (error: unknown) => {
    if (closing || failure) return;
    failure = toHeraldError(error, target, 'consume');
    buffer.length = 0; // RabbitMQ requeues them: they were never acknowledged
    wake();
  };
  connection.on('close', (error?: Error) => fail(error ?? new Error('connection closed by RabbitMQ')));

  const partitions: Partition[] = [];
  let admin: Channel | null = null;
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

  const deliver = (p: Partition, channel: Channel) => (message: ConsumeMessage | null) => {
    if (message === null) {
      fail(new Error(`RabbitMQ cancelled the consumer of ${p.queue} (was the queue deleted?)`));
      return;
    }
    const tag = message.fields.deliveryTag;
    const { key, headers } = fromAmqp(message);
    buffer.push({
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
    });
    wake();
  };

  try {
    const setup = await adminChannel();
    for (const topic of options.topics) {
      await call(declareTopology(setup, settings, topic, [options.group]), `declare ${topic}`);
      const { partitions: count } = topologyOf(settings, topic);
      for (let partition = 0; partition < count; partition++) {
        partitions.push({
          topic,
          partition,
          queue: queueName(topic, options.group, partition),
          channel: null,
          acked: 0,
          closed: false,
        });
      }
    }
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
      await call(channel.consume(p.queue, deliver(p, channel), { noAck: false }), `consume ${p.queue}`);
    }
  } catch (error) {
    closing = true;
    await closeQuietly(connection, timeoutMs);
    throw toHeraldError(failure ?? error, target, 'consume');
  }

  const iterate = async function* (): AsyncGenerator<Delivery> {
    for (;;) {
      if (failure) throw failure;
      const next = buffer.shift();
      if (next) {
        yield next;
        continue;
      }
      if (closing) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          waiting.delete(done);
          resolve();
        };
        waiting.add(done);
      });
    }
  };

  return {
    [Symbol.asyncIterator]: iterate,
    async close() {
      if (closing) return;
      closing = true;
      wake();
      // Closing a channel is a handshake: the acknowledgements sent before it are processed first.
      // What was delivered and not acknowledged goes back to its queue, in order.
      await Promise.all(partitions.map((p) => closeQuietly(p.channel, timeoutMs)));
      await closeQuietly(connection, timeoutMs);
    },
    async lag(): Promise<PartitionLag[]> {
      try {
        const channel = await adminChannel();
        const lag: PartitionLag[] = [];
        for (const p of partitions) {
          // Ready messages: not yet delivered to the group (those delivered and not acknowledged,
          // at most `prefetch` per queue, are not counted).
          const { messageCount } = await call(channel.checkQueue(p.queue), `check ${p.queue}`);
          lag.push({
            topic: p.topic,
            partition: p.partition,
            committed: null,
            end: String(messageCount),
            lag: messageCount,
          });
        }
        return lag;
      } catch (error) {
        throw toHeraldError(error, target, 'consume');
      }
    },
  };
}
