import type { Message } from '@platformatic/kafka';
import type pg from 'pg';
import { claimInboxRows, inboxKey } from '../src/store/sql/inbox.ts';
import { eventType, rawConsumer, readFromStart } from './consume-baseline.ts';
import { groupMax } from './consume-floor.ts';
import { effectSql } from './consume-handler.ts';
import type { BenchPayload } from './payload.ts';

/** Messages read and not yet in a transaction, at most: Herald's default `maxInFlight`. */
const window = 1000;

interface Read {
  id: string;
  /** The event's CloudEvents time: part of the inbox's key. */
  time: Date;
  payload: BenchPayload;
  message: Message;
}

/**
 * floor-kafka: the floor of any Kafka consumer on this machine whose handler writes a row per
 * event and makes it once by an inbox. The Kafka client's own consumer reads every delivery (the
 * second copies too); each message's id and time are read from its `ce_id` and `ce_time` headers and its payload
 * parsed;
 * up to `concurrency` transactions of at most 64 messages run at once on a pipelining pool (the
 * inbox claim by Herald's statement, then the effects of the new ones sent together, COMMIT), and
 * each transaction commits the offsets of its last message per partition. Nothing else: no
 * per-key order, no validation, no retries or dead letters, so less than any correct consumer.
 */
export async function kafkaFloor(options: {
  brokers: string[];
  topic: string;
  pool: pg.Pool;
  schema: string;
  deliveries: number;
  concurrency: number;
}) {
  const { pool, schema, concurrency } = options;
  const s = `"${schema}"`;
  const group = 'floor-kafka';
  const queue: Read[] = [];
  let running = 0;
  let finished = 0;
  let skipped = 0;
  let failure: unknown = null;
  let waiting: (() => void) | null = null;
  const started = performance.now();
  let firstMs = 0;
  let elapsedMs = 0;
  const wake = () => {
    const w = waiting;
    waiting = null;
    w?.();
  };

  async function transaction(batch: Read[]) {
    // Claimed in id order, so two transactions that hold copies of the same events cannot deadlock.
    const sorted = [...batch].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const fresh = await claimInboxRows(
        client,
        schema,
        sorted.map((r) => ({ group, eventId: r.id, eventTime: r.time, type: eventType })),
        true,
      );
      // Both copies of an event in one batch: its claim is one row, its effect made once.
      const effects = sorted.filter((r) => fresh.delete(inboxKey(group, r.id)));
      await Promise.all(effects.map((r) => client.query(effectSql(s), [r.id, r.payload.key, r.payload.n])));
      await client.query('COMMIT');
      skipped += batch.length - effects.length;
      client.release();
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    const last = new Map<number, Message>();
    for (const r of batch) last.set(r.message.partition, r.message);
    await Promise.all([...last.values()].map((m) => m.commit()));
    finished += batch.length;
    if (firstMs === 0) firstMs = performance.now() - started;
  }

  function pump() {
    while (running < concurrency && queue.length > 0 && failure === null) {
      running++;
      transaction(queue.splice(0, groupMax))
        .catch((error) => {
          failure ??= error;
        })
        .finally(() => {
          running--;
          pump();
          wake();
        });
    }
  }

  const consumer = rawConsumer(options.brokers, 'herald-bench-floor-kafka');
  try {
    // Fetched as Herald's Kafka transport fetches (src/transports/kafka/subscribe.ts).
    const stream = await readFromStart(consumer, options.topic, { maxBytes: 1_048_576, highWaterMark: 256 });
    try {
      let read = 0;
      for await (const message of stream) {
        let id = '';
        let time = '';
        for (const [k, v] of message.headers) {
          const name = k.toString();
          if (name === 'ce_id') id = v.toString();
          else if (name === 'ce_time') time = v.toString();
        }
        const payload = JSON.parse((message.value as Buffer).toString()) as BenchPayload;
        queue.push({ id, time: new Date(time), payload, message });
        pump();
        while (queue.length >= window && failure === null) await new Promise<void>((r) => (waiting = r));
        if (++read >= options.deliveries || failure !== null) break;
      }
      while (finished < read && failure === null) await new Promise<void>((r) => (waiting = r));
      elapsedMs = performance.now() - started;
    } finally {
      await stream.close().catch(() => {});
    }
  } finally {
    await consumer.close(true).catch(() => {});
  }
  if (failure !== null) throw failure;
  return { elapsedMs, firstMs, skipped, deadLettered: 0 };
}
