import { HeraldError } from '../../errors.ts';
import type { OutgoingMessage } from '../transport.ts';
import {
  type ChannelModel,
  type ConfirmChannel,
  closeQuietly,
  type Message,
  openConnection,
  withDeadline,
} from './client.ts';
import { toHeraldError } from './errors.ts';
import type { RabbitMQSettings } from './options.ts';
import { declareTopology, partitionOf, type Topology, topologyOf } from './topology.ts';
import { toAmqp } from './wire.ts';

interface Open {
  connection: ChannelModel;
  channel: ConfirmChannel;
  /** Destinations declared on this connection. */
  declared: Set<string>;
  /** Why the channel or connection closed, as the server said it. */
  failure: unknown;
  blocked: string | null;
  /** Messages of the batch in flight that RabbitMQ returned as unroutable. */
  returned: Message[];
}

/**
 * Publishes on one confirm channel, one batch at a time: persistent messages, `mandatory`, and
 * the batch resolves when RabbitMQ confirmed every message and returned none. Publishing in
 * channel order keeps each partition's order. Any failure drops the connection, so that a late
 * confirm or return never leaks into the next batch; the next call opens a new one.
 */
export function createPublisher(settings: RabbitMQSettings) {
  const { target, timeoutMs } = settings;
  let current: Open | null = null;
  let opening: Promise<Open> | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  const drop = async (open: Open | null) => {
    if (!open) return;
    if (current === open) current = null;
    await closeQuietly(open.connection, timeoutMs);
  };

  const connect = async (): Promise<Open> => {
    let connection: ChannelModel;
    try {
      connection = await openConnection(settings, 'publisher');
    } catch (error) {
      throw toHeraldError(error, target, 'connect');
    }
    try {
      const channel = await withDeadline(connection.createConfirmChannel(), timeoutMs, `RabbitMQ at ${target}`);
      const open: Open = { connection, channel, declared: new Set(), failure: null, blocked: null, returned: [] };
      // A channel the server closed (a refused message, a missing exchange) leaves its
      // connection open: it is closed too, and the next call opens both afresh.
      const lost = (error: unknown) => {
        open.failure ??= error ?? new Error('connection closed');
        if (current === open) current = null;
        void closeQuietly(connection, timeoutMs);
      };
      connection.on('close', lost);
      connection.on('blocked', (reason: string) => {
        open.blocked = reason;
      });
      connection.on('unblocked', () => {
        open.blocked = null;
      });
      channel.on('error', lost);
      channel.on('close', () => lost(new Error('channel closed')));
      channel.on('return', (message: Message) => open.returned.push(message));
      return open;
    } catch (error) {
      await closeQuietly(connection, timeoutMs);
      throw toHeraldError(error, target, 'connect');
    }
  };

  const open = async (): Promise<Open> => {
    if (current) return current;
    opening ??= connect().finally(() => {
      opening = null;
    });
    const o = await opening;
    if (!o.failure) current = o;
    return o;
  };

  /** Sends one message; `confirmed` settles with RabbitMQ's ack or nack. */
  const send = (o: Open, m: OutgoingMessage, topology: Topology) => {
    let ready = true;
    const confirmed = new Promise<void>((resolve, reject) => {
      const routingKey = String(partitionOf(m.key, topology.partitions));
      ready = o.channel.publish(topology.exchange, routingKey, m.value, toAmqp(m), (error) =>
        error ? reject(error) : resolve(),
      );
    });
    // Awaited with the others; a batch given up early (a socket that never drains) still has
    // them reject when the channel closes, which must not be an unhandled rejection.
    confirmed.catch(() => {});
    return { confirmed, ready };
  };

  /** Resolves when the socket has room again (or the channel closed: the confirms say why). */
  const drained = (o: Open) =>
    new Promise<void>((resolve) => {
      const done = () => {
        o.channel.off('drain', done);
        o.channel.off('close', done);
        resolve();
      };
      o.channel.on('drain', done);
      o.channel.on('close', done);
    });

  const publishBatch = async (messages: readonly OutgoingMessage[]) => {
    if (messages.length === 0) return;
    // Checked before anything is sent: a batch with a message the broker would refuse fails whole.
    const topologies = new Map<string, Topology>();
    for (const m of messages) {
      if (!topologies.has(m.topic)) topologies.set(m.topic, topologyOf(settings, m.topic));
      if (m.value.length > settings.maxMessageBytes) {
        throw new HeraldError(
          'HERALD_MESSAGE_TOO_LARGE',
          `event ${m.id}: ${m.value.length} bytes is over maxMessageBytes ${settings.maxMessageBytes} (RabbitMQ's max_message_size)`,
          { details: { id: m.id, bytes: m.value.length, maxMessageBytes: settings.maxMessageBytes } },
        );
      }
    }
    const o = await open();
    try {
      for (const destination of topologies.keys()) {
        if (o.declared.has(destination)) continue;
        await withDeadline(
          declareTopology(o.channel, settings, destination, settings.groups),
          timeoutMs,
          `RabbitMQ at ${target} did not declare ${destination}`,
        );
        o.declared.add(destination);
      }
      o.returned = [];
      const confirms: Promise<void>[] = [];
      for (const m of messages) {
        if (o.failure) break;
        const { confirmed, ready } = send(o, m, topologies.get(m.topic) as Topology);
        confirms.push(confirmed);
        // A full socket buffer: wait for it to drain before writing more.
        if (!ready) await withDeadline(drained(o), timeoutMs, `RabbitMQ at ${target} is not reading`);
      }
      const blocked = o.blocked ? ` (RabbitMQ blocked the connection: ${o.blocked})` : '';
      await withDeadline(
        Promise.all(confirms),
        timeoutMs,
        `RabbitMQ at ${target} did not confirm ${messages.length} message(s)${blocked}`,
      );
      if (confirms.length < messages.length) throw o.failure ?? new Error('channel closed');
    } catch (error) {
      // What the server said when it closed the channel (a 406 for a message too large) says
      // more than the "channel closed" of each confirm. Taken before closing adds its own.
      const cause = o.failure ?? error;
      await drop(o);
      throw toHeraldError(cause, target, 'publish');
    }
    if (o.returned.length > 0) {
      const unroutable = [
        ...new Set(o.returned.map((r) => `${r.fields.exchange} (routing key ${r.fields.routingKey})`)),
      ];
      // Queues deleted since they were declared are declared again by the next attempt.
      o.declared.clear();
      throw new HeraldError(
        'HERALD_PUBLISH_FAILED',
        `RabbitMQ had no queue for ${o.returned.length} message(s) to ${unroutable.join(', ')}: no consumer group's queue is bound there yet (name the groups in the transport's groups option, or start their consumers first)`,
        { retriable: true, details: { unroutable, returned: o.returned.map((r) => r.properties.messageId) } },
      );
    }
  };

  return {
    /** Verifies the connection (opening it if needed). */
    async connect(): Promise<void> {
      await open();
    },
    /** Batches run one after the other, so a returned message is always its own batch's. */
    publish(messages: readonly OutgoingMessage[]): Promise<void> {
      const run = queue.then(() => publishBatch(messages));
      queue = run.catch(() => {});
      return run;
    },
    async close(): Promise<void> {
      const o = current ?? (await opening?.catch(() => null)) ?? null;
      current = null;
      await drop(o);
    },
  };
}
