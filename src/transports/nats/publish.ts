import { partitionOf } from '../partition.ts';
import type { OutgoingMessage } from '../transport.ts';
import { type Connection, openConnection, unavailable } from './client.ts';
import { toHeraldError } from './errors.ts';
import { checkNatsDestination, subjectOf } from './names.ts';
import type { NatsSettings } from './options.ts';
import { createStreamCache } from './streams.ts';
import { toNatsHeaders } from './wire.ts';

/** One partition's messages of a batch, with their places in the batch. */
interface Lane {
  subject: string;
  stream: string;
  messages: { index: number; message: OutgoingMessage }[];
}

/**
 * The publishing side of a nats() transport: one connection, opened on first use and again after
 * close() or when the client gave up (e.g. refused credentials). A message goes to the subject of
 * its key's partition (FNV-1a) with its event id as Nats-Msg-Id; each partition is published in
 * order, one PubAck at a time, and partitions go side by side.
 */
export function createPublisher(settings: NatsSettings) {
  const { target } = settings;
  const streams = createStreamCache(settings);
  let connection: Promise<Connection> | null = null;
  let opened: Connection | null = null;

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

  /** The batch split by partition subject, each lane in the batch's order (streams made when missing). */
  const lanesOf = async (conn: Connection, messages: readonly OutgoingMessage[]) => {
    const lanes = new Map<string, Lane>();
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
    return [...lanes.values()];
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
    async connect(): Promise<void> {
      await open();
    },
    async publish(messages: readonly OutgoingMessage[]): Promise<void> {
      for (const m of messages) checkNatsDestination(m.topic, `topic of event ${m.id}`);
      if (messages.length === 0) return;
      const conn = await open();
      let lanes: Lane[];
      try {
        lanes = await lanesOf(conn, messages);
      } catch (error) {
        throw toHeraldError(error, target);
      }
      const failures = (await Promise.all(lanes.map((lane) => publishLane(conn, lane)))).filter((f) => f !== null);
      if (failures.length === 0) return;
      // The error of the earliest message that failed: the same batch fails the same way.
      const first = failures.reduce((a, b) => (b.index < a.index ? b : a));
      const herald = toHeraldError(first.error, target);
      // The stream may have been deleted under us: look it up (or create it) again next time.
      if (herald.code === 'HERALD_BROKER_UNAVAILABLE') for (const m of messages) streams.forget(m.topic);
      throw herald;
    },
    async close(): Promise<void> {
      const current = connection;
      connection = null;
      opened = null;
      if (current) await (await current.catch(() => null))?.close();
    },
  };
}
