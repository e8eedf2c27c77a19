import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { HeraldError } from '../../errors.ts';
import type { OutgoingMessage, Transport } from '../transport.ts';
import { type Connection, openConnection, unavailable } from './client.ts';
import { checkNatsDestination, type NatsOptions, natsSettings, partitionOf, subjectOf } from './config.ts';
import { toHeraldError } from './errors.ts';
import { createStreamCache } from './streams.ts';
import { subscribeNats } from './subscribe.ts';
import { toNatsHeaders } from './wire.ts';

export type { NatsOptions } from './config.ts';
export { partitionOf } from './config.ts';

interface Lane {
  subject: string;
  stream: string;
  messages: { index: number; message: OutgoingMessage }[];
}

/**
 * NATS JetStream through @nats-io/transport-node and @nats-io/jetstream. A destination is a
 * stream (`orders.created` -> stream `orders_created`) with one subject per partition
 * (`orders.created.0` ...); a message goes to the partition of its key (FNV-1a), with its event id
 * as Nats-Msg-Id so the server drops a re-publish inside the stream's duplicate window. Each
 * partition is published in order, one PubAck at a time; partitions go side by side.
 */
export function nats(options: NatsOptions): Transport {
  const settings = natsSettings(options);
  const { target } = settings;
  const streams = createStreamCache(settings);
  // Who holds a group's lease: this transport (a consumer that subscribes again takes its own back).
  const owner = `${hostname()}/${process.pid}/${randomUUID()}`;
  const reading = new Set<string>();
  let connection: Promise<Connection> | null = null;
  let opened: Connection | null = null;

  /** The connection, opened again after close() or when the client gave up (e.g. refused credentials). */
  const open = (): Promise<Connection> => {
    if (opened?.nc.isClosed()) {
      connection = null;
      opened = null;
    }
    if (!connection) {
      const opening = openConnection(settings, settings.name);
      connection = opening;
      opening.then(
        (conn) => {
          if (connection === opening) opened = conn;
        },
        () => {
          if (connection === opening) connection = null;
        },
      );
    }
    return connection;
  };

  /**
   * Publishes one partition's messages one after another and stops at the first failure, so a
   * retry of the batch never puts a later message of a key before an earlier one. Returns the
   * failure, if any, with the index of the message in the batch.
   */
  const publishLane = async (conn: Connection, lane: Lane): Promise<{ index: number; error: unknown } | null> => {
    for (const { index, message } of lane.messages) {
      try {
        if (!conn.up) throw unavailable(target, 'disconnected; the client is reconnecting');
        await conn.deadline(
          conn.js.publish(lane.subject, message.value, {
            msgID: message.id,
            expect: { streamName: lane.stream },
            headers: toNatsHeaders(conn.lib, message),
            timeout: settings.timeoutMs,
          }),
        );
      } catch (error) {
        return { index, error };
      }
    }
    return null;
  };

  return {
    name: 'nats',
    describe: () => target,
    async connect() {
      await open();
    },
    async publish(messages: readonly OutgoingMessage[]) {
      for (const m of messages) checkNatsDestination(m.topic, `topic of event ${m.id}`);
      if (messages.length === 0) return;
      const conn = await open();
      const lanes = new Map<string, Lane>();
      try {
        for (const [index, message] of messages.entries()) {
          const { stream, partitions } = await streams.get(conn, message.topic);
          const subject = subjectOf(message.topic, partitionOf(message.key, partitions));
          let lane = lanes.get(subject);
          if (!lane) {
            lane = { subject, stream, messages: [] };
            lanes.set(subject, lane);
          }
          lane.messages.push({ index, message });
        }
      } catch (error) {
        throw toHeraldError(error, target);
      }
      const failures = (await Promise.all([...lanes.values()].map((lane) => publishLane(conn, lane)))).filter(
        (f) => f !== null,
      );
      if (failures.length === 0) return;
      // The error of the earliest message that failed: the same batch fails the same way.
      const first = failures.reduce((a, b) => (b.index < a.index ? b : a));
      const herald = toHeraldError(first.error, target);
      // The stream may have been deleted under us: look it up (or create it) again next time.
      if (herald.code === 'HERALD_BROKER_UNAVAILABLE') for (const m of messages) streams.forget(m.topic);
      throw herald;
    },
    async subscribe(subscription) {
      // The lease is this transport's: two open subscriptions of one group on it would both read.
      if (reading.has(subscription.group)) {
        throw new HeraldError(
          'HERALD_INVALID_CONFIG',
          `group ${subscription.group} already has an open subscription on this transport; give each member its own nats() transport`,
          { details: { setting: 'group' } },
        );
      }
      reading.add(subscription.group);
      try {
        const opened = await subscribeNats(settings, subscription, owner);
        return {
          ...opened,
          [Symbol.asyncIterator]: () => opened[Symbol.asyncIterator](),
          async close() {
            try {
              await opened.close();
            } finally {
              reading.delete(subscription.group);
            }
          },
        };
      } catch (error) {
        reading.delete(subscription.group);
        throw error;
      }
    },
    async close() {
      const current = connection;
      connection = null;
      opened = null;
      if (current) await (await current.catch(() => null))?.close();
    },
  };
}
