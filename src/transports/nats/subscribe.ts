import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { invalidSetting } from '../../config/check.ts';
import { createDeliveryQueue, queuedSubscription } from '../delivery-queue.ts';
import type { Delivery, SubscribeOptions, Subscription } from '../transport.ts';
import { type Connection, openConnection, unavailable } from './client.ts';
import { ensureConsumer, type GroupPartition, partitionLag } from './consumers.ts';
import { toHeraldError } from './errors.ts';
import { ensureLeaseStream, groupLease, type Lease, leaseLost } from './lease.ts';
import { checkNatsDestination, consumerNameOf, subjectOf } from './names.ts';
import type { NatsSettings } from './options.ts';
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

/** The subscription's own connection, its partitions, and the lease time every member goes by. */
async function open(settings: NatsSettings, options: SubscribeOptions) {
  const conn = await openConnection(settings, `${settings.name}-${options.group}`);
  try {
    const parts = await plan(conn, settings, options);
    const leaseMs = await ensureLeaseStream(conn, settings);
    return { conn, parts, leaseMs };
  } catch (error) {
    await conn.close();
    throw toHeraldError(error, settings.target);
  }
}

/**
 * What a member reads once it holds the lease: one durable pull consumer per partition, each read
 * by a loop of pull requests into one delivery queue (so each partition arrives in order), and
 * acknowledgements that resolve once the server confirmed them (ackAck).
 */
function createReader(conn: Connection, settings: NatsSettings, parts: Part[], lease: Lease, leaseMs: number) {
  const queue = createDeliveryQueue<Delivery>(settings.fetchBatch);
  // A pull request sent while the lease is valid ends before another member could take over.
  const fetchExpiresMs = Math.min(5_000, Math.max(1_000, Math.floor(leaseMs / 3)));
  const fetches = new Set<ConsumerMessages>();
  const acks = new Set<Promise<unknown>>();
  /** Per partition, what was delivered and no ack covers yet, in order. */
  const unacked = new Map<string, JsMsg[]>(parts.map((part) => [part.subject, []]));
  let active: ActivePart[] = [];
  let pumps: Promise<void>[] = [];
  let stopped = false;
  const fail = (error: unknown) => {
    if (!stopped) queue.fail(toHeraldError(error, settings.target));
  };

  const ack = async (part: Part, msg: JsMsg) => {
    const confirmed = conn.deadline(msg.ackAck({ timeout: settings.timeoutMs }));
    acks.add(confirmed);
    try {
      await confirmed;
    } catch (error) {
      throw toHeraldError(error, settings.target);
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

  /** One partition's loop of pull requests, while there is room in the queue. */
  const pump = async (part: ActivePart) => {
    while (!stopped) {
      await queue.room();
      if (stopped) return;
      // Renewals are late (the server is slow or away): stop before another member may read.
      if (!lease.valid()) throw leaseLost(part.group);
      const batch = await part.consumer.fetch({ max_messages: settings.fetchBatch, expires: fetchExpiresMs });
      fetches.add(batch);
      try {
        for await (const msg of batch) {
          // Left unacknowledged: the next subscription of the group reads it again.
          if (stopped) break;
          unacked.get(part.subject)?.push(msg);
          queue.push(delivery(part, msg));
        }
      } finally {
        fetches.delete(batch);
      }
    }
  };

  return {
    queue,
    fail,
    active: () => active,
    /** Readies the partitions' consumers and starts their loops. */
    async start(): Promise<void> {
      active = await Promise.all(
        parts.map(async (part) => {
          await ensureConsumer(conn, settings, part);
          return { ...part, consumer: await conn.deadline(conn.js.consumers.get(part.stream, part.name)) };
        }),
      );
      pumps = active.map((part) => pump(part).catch(fail));
    },
    /**
     * Tells the server the deliveries not acknowledged are still being worked on: a handler slower
     * than ack_wait is not raced by a redelivery.
     */
    keepInProgress(): void {
      for (const list of unacked.values())
        for (const msg of list) {
          try {
            msg.working();
          } catch {
            // The connection is going: the subscription fails by itself.
          }
        }
    },
    /** Stops fetching (the queue has ended); acknowledgements already made reach the server first. */
    async stop(): Promise<void> {
      stopped = true;
      for (const batch of fetches) batch.stop();
      await Promise.allSettled([...acks]);
      await conn.deadline(Promise.allSettled(pumps)).catch(() => {});
    },
  };
}

/**
 * Takes the group's lease when it is free (looking every second) and then starts reading, and
 * renews it every third of the lease time; a lease lost fails the subscription (the consumer
 * subscribes again, and waits its turn).
 */
function keepLease(
  lease: Lease,
  group: string,
  leaseMs: number,
  start: () => Promise<void>,
  fail: (e: unknown) => void,
) {
  const renewEveryMs = Math.floor(leaseMs / 3);
  let activation: Promise<void> | null = null;
  let renewedAt = 0;
  let ticking = false;
  let stopped = false;
  const tick = async () => {
    if (stopped || ticking) return;
    ticking = true;
    try {
      if (activation) {
        if (Date.now() - renewedAt < renewEveryMs) return;
        renewedAt = Date.now();
        if (!(await lease.renew())) fail(leaseLost(group));
      } else if (await lease.acquire()) {
        renewedAt = Date.now();
        activation = start();
        await activation;
      }
    } finally {
      ticking = false;
    }
  };
  const timer = setInterval(() => void tick().catch(fail), Math.min(1000, renewEveryMs));
  timer.unref();
  return {
    tick,
    /** Stops renewing; resolves once a start under way has settled. */
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await Promise.allSettled([activation]);
    },
  };
}

/**
 * A group's subscription on its own connection. The member holding the group's lease (see
 * lease.ts) reads; another waits and takes over. Reading: one durable pull consumer per topic
 * and partition (see consumers.ts), each read by a loop of pull requests that feeds one delivery
 * queue, so each partition arrives in order. An ack resolves once the server confirmed it (ackAck).
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
  const { conn, parts, leaseMs } = await open(settings, options);
  const lease = groupLease(conn, options.group, owner, leaseMs);
  const reader = createReader(conn, settings, parts, lease, leaseMs);
  const holder = keepLease(lease, options.group, leaseMs, reader.start, reader.fail);
  // While this subscription lives, its deliveries are "in progress" for the server. ack_wait is
  // thus how long a subscriber that stopped answering keeps its messages.
  const progress = setInterval(reader.keepInProgress, Math.max(500, Math.floor(settings.ackWaitMs / 3)));
  progress.unref();
  conn.onDown(() => reader.fail(unavailable(target, 'the connection was lost')));

  const subscription = queuedSubscription(reader.queue, {
    async shutdown() {
      clearInterval(progress);
      await Promise.all([reader.stop(), holder.stop()]);
      await lease.release();
      await conn.close();
    },
    async lag() {
      try {
        // A member waiting for the lease reports nothing: the holder reports the group's lag.
        return await Promise.all(
          reader.active().map(async (part) => ({
            topic: part.topic,
            partition: part.partition,
            ...(await partitionLag(conn, part)),
          })),
        );
      } catch (error) {
        throw toHeraldError(error, target);
      }
    },
  });
  try {
    await holder.tick();
  } catch (error) {
    await subscription.close();
    throw toHeraldError(error, target);
  }
  return subscription;
}

/**
 * The subscribing side of a nats() transport. The group lease is held in the transport's name
 * (a consumer that subscribes again takes its own back), so two open subscriptions of one group
 * on it would both read: a second is refused.
 */
export function createSubscriber(settings: NatsSettings) {
  const owner = `${hostname()}/${process.pid}/${randomUUID()}`;
  const reading = new Set<string>();
  return async (options: SubscribeOptions): Promise<Subscription> => {
    if (reading.has(options.group)) {
      throw invalidSetting(
        'group',
        'already has an open subscription on this transport; give each member its own nats() transport',
        options.group,
      );
    }
    reading.add(options.group);
    try {
      const opened = await subscribeNats(settings, options, owner);
      return {
        ...opened,
        [Symbol.asyncIterator]: () => opened[Symbol.asyncIterator](),
        async close() {
          try {
            await opened.close();
          } finally {
            reading.delete(options.group);
          }
        },
      };
    } catch (error) {
      reading.delete(options.group);
      throw error;
    }
  };
}
