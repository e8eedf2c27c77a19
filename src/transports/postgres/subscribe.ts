import { uuidv7 } from '../../events/uuidv7.ts';
import { silentLogger } from '../../observe/logger.ts';
import type { PoolLike } from '../../store/connect.ts';
import { startListener } from '../../store/listener.ts';
import { createDeliveryQueue, type DeliveryQueue, queuedSubscription } from '../delivery-queue.ts';
import type { Delivery, SubscribeOptions, Subscription } from '../transport.ts';
import type { BrokerClient } from './client.ts';
import { brokerError } from './errors.ts';
import type { PostgresSettings } from './options.ts';
import {
  type BrokerRow,
  commitOffsets,
  expireMessages,
  type Held,
  heartbeat,
  leaveGroup,
  partitionLag,
  readPartition,
} from './sql.ts';

/** Messages read from a partition in one query; reading pauses while this many wait to be read. */
const readBatch = 500;

export interface PostgresSubscribeDeps {
  pool: PoolLike;
  schema: string;
  target: string;
  /** This process's member id in the group: kept across subscriptions, so leases survive a resubscribe. */
  member: string;
  partitionsOf(topic: string): Promise<number>;
  pollIntervalMs: number;
  leaseMs: number;
  listenTo: string | PoolLike;
}

const slot = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * The partitions this member holds, each with the position read up to (ahead of the stored one
 * while work is in flight). A heartbeat renews the leases, takes a fair share, and drops what
 * went to another member: `onLost` is told, so what was read of it and not yet handed out goes.
 */
function createHoldings(
  deps: PostgresSubscribeDeps,
  options: SubscribeOptions,
  topics: { topic: string; partitions: number }[],
  onLost: (held: Held) => void,
) {
  const reading = new Map<string, Held>();
  return {
    reading,
    async beat(): Promise<void> {
      const { pool, schema, member, leaseMs } = deps;
      const held = await heartbeat(pool, schema, options.group, member, topics, leaseMs, options.from === 'latest');
      const now = new Set(held.map((h) => slot(h.topic, h.partition)));
      for (const [key, h] of reading) {
        if (now.has(key)) continue;
        reading.delete(key);
        onLost(h);
      }
      for (const h of held) {
        const key = slot(h.topic, h.partition);
        if (!reading.has(key)) reading.set(key, { ...h });
      }
    },
  };
}

/**
 * Acknowledgements: the latest position per partition, the ones waiting stored in one statement
 * (only forward, only where this member still holds the partition).
 */
function createCommits(deps: PostgresSubscribeDeps, group: string) {
  const pending = new Map<string, { position: Held; waiters: { resolve(): void; reject(e: unknown): void }[] }>();
  let flushing: Promise<void> | null = null;
  const flush = async (): Promise<void> => {
    while (pending.size > 0) {
      const batch = [...pending.values()];
      pending.clear();
      try {
        const positions = batch.map((b) => b.position);
        await commitOffsets(deps.pool, deps.schema, group, deps.member, positions);
        for (const b of batch) for (const w of b.waiters) w.resolve();
      } catch (error) {
        for (const b of batch) for (const w of b.waiters) w.reject(brokerError(error, deps.target));
      }
    }
    flushing = null;
  };
  return {
    commit: (position: Held) =>
      new Promise<void>((resolve, reject) => {
        const key = slot(position.topic, position.partition);
        const entry = pending.get(key) ?? { position, waiters: [] };
        entry.position = position;
        entry.waiters.push({ resolve, reject });
        pending.set(key, entry);
        flushing ??= Promise.resolve().then(flush);
      }),
    /** Resolves once the acknowledgements made so far are stored (or failed). */
    flushed: () => flushing?.catch(() => {}),
  };
}

function toDelivery(h: Held, row: BrokerRow, commit: (position: Held) => Promise<void>): Delivery {
  const position = { topic: h.topic, partition: h.partition, xid: row.xid, seq: row.seq };
  return {
    topic: h.topic,
    partition: h.partition,
    offset: `${row.xid}:${row.seq}`,
    key: row.key,
    value: row.value,
    headers: row.headers,
    ack: () => commit(position),
  };
}

/**
 * The fetch loop: reads each held partition after its position into the queue, while there is
 * room, and when nothing was new waits for a NOTIFY (`wake`) or the poll interval. A partition
 * that went to another member while it was read is left at once.
 */
async function fetchLoop(
  deps: PostgresSubscribeDeps,
  reading: Map<string, Held>,
  queue: DeliveryQueue<Delivery>,
  commit: (position: Held) => Promise<void>,
  idle: () => Promise<void>,
): Promise<void> {
  while (!queue.finished) {
    let any = false;
    for (const [key, h] of [...reading]) {
      await queue.room();
      if (queue.finished) return;
      if (reading.get(key) !== h) continue;
      const rows = await readPartition(deps.pool, deps.schema, h.topic, h.partition, h, readBatch, true);
      for (const row of rows) {
        if (queue.finished || reading.get(key) !== h) break;
        h.xid = row.xid;
        h.seq = row.seq;
        any = true;
        queue.push(toDelivery(h, row, commit));
      }
    }
    if (!any && !queue.finished) await idle();
  }
}

/** A wait of `ms` that `wake()` ends early; a wake while nobody waits ends the next wait at once. */
function createWaker(ms: number) {
  let wake: (() => void) | null = null;
  let woken = false;
  return {
    wait: () =>
      new Promise<void>((resolve) => {
        if (woken) {
          woken = false;
          resolve();
          return;
        }
        const t = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      }),
    wake: () => {
      if (wake) wake();
      else woken = true;
      wake = null;
    },
  };
}

/**
 * A member of a consumer group on the PostgreSQL broker: holds a fair share of the partitions by
 * leases (heartbeats every third of `leaseMs`), reads each from the group's position in a fetch
 * loop into a delivery queue (each partition in order; a NOTIFY wakes it), and stores positions as
 * messages are acknowledged (batched: one statement for every acknowledgement waiting). close()
 * ends the queue, stores the acknowledgements made, and hands the partitions over at once.
 */
export async function subscribePostgres(deps: PostgresSubscribeDeps, options: SubscribeOptions): Promise<Subscription> {
  const { pool, schema, member } = deps;
  const { group } = options;
  const fail = (error: unknown) => brokerError(error, deps.target);
  const queue = createDeliveryQueue<Delivery>(readBatch);
  const waker = createWaker(deps.pollIntervalMs);
  let holdings: ReturnType<typeof createHoldings>;
  try {
    const topics = await Promise.all(
      options.topics.map(async (topic) => ({ topic, partitions: await deps.partitionsOf(topic) })),
    );
    holdings = createHoldings(deps, options, topics, (lost) =>
      queue.discard((d) => d.topic === lost.topic && d.partition === lost.partition),
    );
    await holdings.beat();
  } catch (error) {
    throw fail(error);
  }

  // One heartbeat at a time; a failed one fails the subscription (the consumer subscribes again).
  let beating: Promise<void> | null = null;
  const timer = setInterval(
    () => {
      beating ??= holdings
        .beat()
        .then(waker.wake)
        .catch((error) => queue.fail(fail(error)))
        .finally(() => {
          beating = null;
        });
    },
    Math.max(100, Math.floor(deps.leaseMs / 3)),
  );
  const stopListening = new AbortController();
  void startListener({
    db: deps.listenTo,
    channel: `${schema}_broker`,
    onWake: waker.wake,
    logger: silentLogger,
    signal: stopListening.signal,
  }).catch(() => {});
  const commits = createCommits(deps, group);
  const fetching = fetchLoop(deps, holdings.reading, queue, commits.commit, waker.wait).catch((error) =>
    queue.fail(fail(error)),
  );

  return queuedSubscription(queue, {
    async shutdown() {
      clearInterval(timer);
      stopListening.abort();
      waker.wake();
      await commits.flushed();
      // A heartbeat under way would take partitions again after they are handed over.
      await beating;
      // A clean stop hands the partitions over at once; what was not acknowledged is read again.
      await leaveGroup(pool, schema, group, member).catch(() => {});
      await fetching;
    },
    async lag() {
      try {
        const rows = await partitionLag(pool, schema, group, options.topics);
        return rows.map((r) => ({
          topic: r.topic,
          partition: r.partition,
          committed: r.committed,
          end: r.end,
          lag: Number(r.lag),
        }));
      } catch (error) {
        throw fail(error);
      }
    },
  });
}

/**
 * The subscribing side of a postgres() transport: one member id per group (a resubscribe after an
 * outage keeps its leases), and one hourly sweep of old messages while it has subscriptions,
 * however many (the DELETE covers every topic of the schema).
 */
export function createSubscriber(settings: PostgresSettings, client: BrokerClient) {
  const members = new Map<string, string>();
  let subscribed = 0;
  let expiry: NodeJS.Timeout | null = null;
  const sweepWhileSubscribed = (pool: PoolLike) => {
    subscribed++;
    if (expiry || settings.retentionDays <= 0) return;
    expiry = setInterval(
      () => void expireMessages(pool, settings.schema, settings.retentionDays).catch(() => {}),
      3_600_000,
    );
    expiry.unref();
  };
  const unsubscribed = () => {
    if (--subscribed > 0 || !expiry) return;
    clearInterval(expiry);
    expiry = null;
  };
  const memberOf = (group: string) => {
    let member = members.get(group);
    if (!member) {
      member = uuidv7();
      members.set(group, member);
    }
    return member;
  };

  return {
    async subscribe(options: SubscribeOptions): Promise<Subscription> {
      const { pool, target } = client.open();
      const joined = await subscribePostgres(
        {
          pool,
          schema: settings.schema,
          target,
          member: memberOf(options.group),
          partitionsOf: (topic) => client.partitionsOf(topic),
          pollIntervalMs: settings.pollIntervalMs,
          leaseMs: settings.leaseMs,
          listenTo: typeof settings.db === 'string' ? settings.db : pool,
        },
        options,
      );
      sweepWhileSubscribed(pool);
      let left = false;
      return {
        [Symbol.asyncIterator]: () => joined[Symbol.asyncIterator](),
        lag: () => joined.lag(),
        async close() {
          if (!left) {
            left = true;
            unsubscribed();
          }
          await joined.close();
        },
      };
    },
    /** Stops the sweep (the transport closes). */
    close(): void {
      if (expiry) clearInterval(expiry);
      expiry = null;
      subscribed = 0;
    },
  };
}
