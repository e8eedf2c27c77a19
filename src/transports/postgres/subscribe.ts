import { silentLogger } from '../../observe/logger.ts';
import type { PoolLike } from '../../store/connect.ts';
import { startListener } from '../../store/listener.ts';
import type { Delivery, PartitionLag, SubscribeOptions, Subscription } from '../transport.ts';
import { brokerError } from './errors.ts';
import { commitOffsets, type Held, heartbeat, leaveGroup, partitionLag, readPartition } from './sql.ts';

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
 * A member of a consumer group on the PostgreSQL broker: holds a fair share of the partitions by
 * leases, reads each from the group's position, and stores positions as messages are
 * acknowledged (batched: one statement for every acknowledgement waiting).
 */
export async function subscribePostgres(deps: PostgresSubscribeDeps, options: SubscribeOptions): Promise<Subscription> {
  const { pool, schema, member } = deps;
  const { group } = options;
  const fail = (error: unknown) => brokerError(error, deps.target);
  let topics: { topic: string; partitions: number }[];
  try {
    topics = await Promise.all(
      options.topics.map(async (topic) => ({ topic, partitions: await deps.partitionsOf(topic) })),
    );
  } catch (error) {
    throw fail(error);
  }
  /** Partitions held, with the position read up to (ahead of the stored one while work is in flight). */
  const reading = new Map<string, Held>();
  let failure: unknown = null;
  let closed = false;
  let wake: (() => void) | null = null;
  const poke = () => {
    wake?.();
    wake = null;
  };

  const beat = async () => {
    const held = await heartbeat(pool, schema, group, member, topics, deps.leaseMs, options.from === 'latest');
    const now = new Set(held.map((h) => slot(h.topic, h.partition)));
    for (const key of reading.keys()) if (!now.has(key)) reading.delete(key);
    for (const h of held)
      if (!reading.has(slot(h.topic, h.partition))) reading.set(slot(h.topic, h.partition), { ...h });
    poke();
  };
  try {
    await beat();
  } catch (error) {
    throw fail(error);
  }
  const timer = setInterval(
    () =>
      void beat().catch((error) => {
        failure = error;
        poke();
      }),
    Math.max(100, Math.floor(deps.leaseMs / 3)),
  );
  const stopListening = new AbortController();
  void startListener({
    db: deps.listenTo,
    channel: `${schema}_broker`,
    onWake: poke,
    logger: silentLogger,
    signal: stopListening.signal,
  }).catch(() => {});

  const pending = new Map<string, { position: Held; waiters: { resolve(): void; reject(e: unknown): void }[] }>();
  let flushing: Promise<void> | null = null;
  const flush = async (): Promise<void> => {
    while (pending.size > 0) {
      const batch = [...pending.values()];
      pending.clear();
      try {
        await commitOffsets(
          pool,
          schema,
          group,
          member,
          batch.map((b) => b.position),
        );
        for (const b of batch) for (const w of b.waiters) w.resolve();
      } catch (error) {
        for (const b of batch) for (const w of b.waiters) w.reject(fail(error));
      }
    }
    flushing = null;
  };
  const ack = (position: Held) =>
    new Promise<void>((resolve, reject) => {
      const key = slot(position.topic, position.partition);
      const entry = pending.get(key) ?? { position, waiters: [] };
      entry.position = position;
      entry.waiters.push({ resolve, reject });
      pending.set(key, entry);
      flushing ??= Promise.resolve().then(flush);
    });

  async function* iterate(): AsyncGenerator<Delivery> {
    while (!closed) {
      if (failure) throw fail(failure);
      let any = false;
      for (const [key, h] of [...reading]) {
        let rows: Awaited<ReturnType<typeof readPartition>>;
        try {
          rows = await readPartition(pool, schema, h.topic, h.partition, h, 500, true);
        } catch (error) {
          throw fail(error);
        }
        for (const row of rows) {
          if (closed || reading.get(key) !== h) break; // closed, or the partition went to another member
          h.xid = row.xid;
          h.seq = row.seq;
          any = true;
          const position = { topic: h.topic, partition: h.partition, xid: row.xid, seq: row.seq };
          yield {
            topic: h.topic,
            partition: h.partition,
            offset: `${row.xid}:${row.seq}`,
            key: row.key,
            value: row.value,
            headers: row.headers,
            ack: () => ack(position),
          };
        }
      }
      if (!any && !closed) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, deps.pollIntervalMs);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    }
  }

  return {
    [Symbol.asyncIterator]: iterate,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      stopListening.abort();
      poke();
      await flushing?.catch(() => {});
      // A clean stop hands the partitions over at once; what was not acknowledged is read again.
      await leaveGroup(pool, schema, group, member).catch(() => {});
    },
    async lag(): Promise<PartitionLag[]> {
      try {
        const rows = await partitionLag(
          pool,
          schema,
          group,
          topics.map((t) => t.topic),
        );
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
  };
}
