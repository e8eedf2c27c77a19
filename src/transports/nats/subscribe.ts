import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Delivery, PartitionLag, SubscribeOptions, Subscription } from '../transport.ts';
import { createChannel } from './channel.ts';
import { type Connection, openConnection, unavailable } from './client.ts';
import { checkNatsDestination, consumerNameOf, type NatsSettings, subjectOf } from './config.ts';
import { ensureConsumer, type GroupPartition, partitionLag } from './consumers.ts';
import { toHeraldError } from './errors.ts';
import { ensureLeaseStream, groupLease, leaseLost } from './lease.ts';
import { ensureStream } from './streams.ts';
import { fromNatsHeaders } from './wire.ts';

interface Part extends GroupPartition {
  topic: string;
}
interface ActivePart extends Part {
  consumer: Consumer;
}

/** The group's partitions of every topic (their streams created when missing). */
async function plan(conn: Connection, settings: NatsSettings, options: SubscribeOptions): Promise<Part[]> {
  const parts: Part[] = [];
  for (const topic of options.topics) {
    checkNatsDestination(topic, 'subscribed topic');
    const { stream, partitions } = await ensureStream(conn, settings, topic);
    for (let partition = 0; partition < partitions; partition++) {
      parts.push({
        topic,
        stream,
        name: consumerNameOf(options.group, partition),
        subject: subjectOf(topic, partition),
        group: options.group,
        partition,
        from: options.from ?? 'earliest',
      });
    }
  }
  return parts;
}

/**
 * A group's subscription on its own connection. The member holding the group's lease (see
 * lease.ts) reads; another waits and takes over. Reading: one durable pull consumer per topic
 * and partition (see consumers.ts), each read by a loop of pull requests that feeds one channel,
 * so each partition arrives in order. An ack resolves once the server confirmed it (ackAck).
 * A lost connection fails the subscription with HERALD_BROKER_UNAVAILABLE: Herald's consumer
 * subscribes again, and what was delivered and not acknowledged is read again from the group's
 * ack floor.
 */
export async function subscribeNats(
  settings: NatsSettings,
  options: SubscribeOptions,
  owner: string,
): Promise<Subscription> {
  const { target } = settings;
  const conn = await openConnection(settings, `${settings.name}-${options.group}`);
  let parts: Part[];
  let leaseMs: number;
  try {
    parts = await plan(conn, settings, options);
    leaseMs = await ensureLeaseStream(conn, settings);
  } catch (error) {
    await conn.close();
    throw toHeraldError(error, target);
  }
  const lease = groupLease(conn, options.group, owner, leaseMs);
  // A pull request sent while the lease is valid ends before another member could take over.
  const fetchExpiresMs = Math.min(5_000, Math.max(1_000, Math.floor(leaseMs / 3)));

  const channel = createChannel<Delivery>();
  const buffered = settings.fetchBatch;
  const fetches = new Set<ConsumerMessages>();
  const acks = new Set<Promise<unknown>>();
  /** Per partition, what was delivered and no ack covers yet, in order. */
  const unacked = new Map<string, JsMsg[]>(parts.map((part) => [part.subject, []]));
  let active: ActivePart[] = [];
  let pumps: Promise<void>[] = [];
  let activation: Promise<void> | null = null;
  let stopped = false;
  const fail = (error: unknown) => {
    if (!stopped) channel.fail(toHeraldError(error, target));
  };

  // While this subscription lives, its deliveries are "in progress" for the server: a handler
  // slower than ack_wait is not raced by a redelivery. ack_wait is thus how long a subscriber
  // that stopped answering keeps its messages.
  const progress = setInterval(
    () => {
      for (const list of unacked.values())
        for (const msg of list) {
          try {
            msg.working();
          } catch {
            // The connection is going: the subscription fails by itself.
          }
        }
    },
    Math.max(500, Math.floor(settings.ackWaitMs / 3)),
  );
  progress.unref();

  const ack = async (part: Part, msg: JsMsg) => {
    const confirmed = conn.deadline(msg.ackAck({ timeout: settings.timeoutMs }));
    acks.add(confirmed);
    try {
      await confirmed;
    } catch (error) {
      throw toHeraldError(error, target);
    } finally {
      acks.delete(confirmed);
    }
    const list = unacked.get(part.subject) as JsMsg[];
    while (list.length > 0 && (list[0] as JsMsg).seq <= msg.seq) list.shift();
  };
  const delivery = (part: Part, msg: JsMsg): Delivery => {
    const { key, headers } = fromNatsHeaders(msg.headers);
    return {
      topic: part.topic,
      partition: part.partition,
      offset: String(msg.seq),
      key,
      // A copy: the client's bytes are a view into the socket's read buffer.
      value: Buffer.from(msg.data),
      headers,
      ack: () => ack(part, msg),
    };
  };
  const pump = async (part: ActivePart) => {
    while (!stopped) {
      await channel.room(buffered);
      if (stopped) return;
      // Renewals are late (the server is slow or away): stop before another member may read.
      if (!lease.valid()) throw leaseLost(options.group);
      const batch = await part.consumer.fetch({ max_messages: settings.fetchBatch, expires: fetchExpiresMs });
      fetches.add(batch);
      try {
        for await (const msg of batch) {
          // Left unacknowledged: the next subscription of the group reads it again.
          if (stopped) break;
          unacked.get(part.subject)?.push(msg);
          channel.push(delivery(part, msg));
        }
      } finally {
        fetches.delete(batch);
      }
    }
  };
  const activate = async () => {
    active = await Promise.all(
      parts.map(async (part) => {
        await ensureConsumer(conn, settings, part);
        return { ...part, consumer: await conn.deadline(conn.js.consumers.get(part.stream, part.name)) };
      }),
    );
    pumps = active.map((part) => pump(part).catch(fail));
  };
  // Takes the lease when it is free (looking every second) and starts reading, then renews it
  // every third of the lease time; a lease lost fails the subscription (the consumer subscribes
  // again, and waits its turn).
  const renewEveryMs = Math.floor(leaseMs / 3);
  let renewedAt = 0;
  let ticking = false;
  const tick = async () => {
    if (stopped || ticking) return;
    ticking = true;
    try {
      if (activation) {
        if (Date.now() - renewedAt < renewEveryMs) return;
        renewedAt = Date.now();
        if (!(await lease.renew())) fail(leaseLost(options.group));
      } else if (await lease.acquire()) {
        renewedAt = Date.now();
        activation = activate();
        await activation;
      }
    } finally {
      ticking = false;
    }
  };
  const leaseTimer = setInterval(() => void tick().catch(fail), Math.min(1000, renewEveryMs));
  leaseTimer.unref();
  conn.onDown(() => fail(unavailable(target, 'the connection was lost')));

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    stopped = true;
    clearInterval(progress);
    clearInterval(leaseTimer);
    for (const batch of fetches) batch.stop();
    channel.end();
    // Acknowledgements already made reach the server before the connection goes.
    await Promise.allSettled([...acks]);
    await conn.deadline(Promise.allSettled([activation, ...pumps])).catch(() => {});
    await lease.release();
    await conn.close();
  };
  try {
    await tick();
  } catch (error) {
    await close();
    throw toHeraldError(error, target);
  }
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => channel.next(buffered),
      return: async () => ({ value: undefined, done: true }),
    }),
    close,
    async lag(): Promise<PartitionLag[]> {
      try {
        // A member waiting for the lease reports nothing: the holder reports the group's lag.
        return await Promise.all(
          active.map(async (part) => ({
            topic: part.topic,
            partition: part.partition,
            ...(await partitionLag(conn, part)),
          })),
        );
      } catch (error) {
        throw toHeraldError(error, target);
      }
    },
  };
}
