// What the status tests share: events to write, cursors to move, dead letters and lag to store.
import { randomUUID } from 'node:crypto';
import { after } from 'node:test';
import { z } from 'zod';
import { createOutbox, defineEvent, type HeraldStatus } from '../../src/index.ts';
import { insertConsumerDeadLetter } from '../../src/store/sql/consumer-dead-letters.ts';
import { recordLag } from '../../src/store/sql/consumer-lag.ts';
import { freshSchema, inTransaction, type TestSchema } from './env.ts';

export const Ticked = defineEvent({
  type: 'status.ticked',
  version: 1,
  schema: z.object({ key: z.string(), n: z.number(), note: z.string().optional() }),
  key: (p) => p.key,
});

/** A fresh schema per test; every one made by a file is dropped when the file ends. */
export function schemasForFile(): () => Promise<TestSchema> {
  const schemas: TestSchema[] = [];
  after(async () => {
    for (const db of schemas) await db.drop();
  });
  return async () => {
    const db = await freshSchema();
    schemas.push(db);
    return db;
  };
}

/** Commits `count` events in one transaction each, spread over keys (and so over shards). */
export async function writeEvents(db: TestSchema, count: number, time?: Date): Promise<void> {
  const outbox = createOutbox({ schema: db.schema });
  for (let n = 0; n < count; n++) {
    const event = Ticked({ key: `k${n % 7}`, n }, time ? { time } : {});
    await inTransaction(db.pool, (tx) => outbox.add(tx, event));
  }
}

/** What the relay does at start (one cursor row per shard), then "publishes" up to the k-th event. */
export async function moveCursors(db: TestSchema, publishedCount: number): Promise<void> {
  const s = `"${db.schema}"`;
  await db.pool.query(
    `INSERT INTO ${s}.cursors (shard) SELECT generate_series(0, st.shard_count - 1) FROM ${s}.settings st ON CONFLICT DO NOTHING`,
  );
  if (publishedCount === 0) return;
  await db.pool.query(
    `UPDATE ${s}.cursors c SET xid = p.xid, seq = p.seq, updated_at = now()
FROM (SELECT l.xid, l.seq FROM ${s}.log l ORDER BY l.xid, l.seq OFFSET $1::int - 1 LIMIT 1) p`,
    [publishedCount],
  );
}

export async function insertDeadLetter(
  db: TestSchema,
  row: { type: string; errorCode: string; status?: string; failedSecondsAgo?: number },
): Promise<void> {
  await db.pool.query(
    `INSERT INTO "${db.schema}".dead_letters (id, xid, seq, type, version, source, partition_key, shard, destination,
  payload, created_at, error_code, error_message, attempts, first_failed_at, status)
VALUES ($1, '1', 1, $2, 1, '/test', 'k', 0, 'some.topic', '{}', now(), $3, 'refused', 5,
  now() - make_interval(secs => $4::float8), $5)`,
    [randomUUID(), row.type, row.errorCode, row.failedSecondsAgo ?? 0, row.status ?? 'pending'],
  );
}

/** A message consumer group `group` gave up on; `status` as an operator or a consumer left it. */
export async function insertConsumerDeadLetterRow(
  db: TestSchema,
  group: string,
  status: 'pending' | 'retrying' | 'retried' | 'discarded' = 'pending',
): Promise<void> {
  const id = randomUUID();
  await insertConsumerDeadLetter(db.pool, db.schema, {
    group,
    messageId: id,
    eventType: 'order.placed',
    topic: 'orders',
    partition: 0,
    offset: '7',
    key: 'o-1',
    headers: {},
    body: Buffer.from('{}'),
    error: { code: 'HERALD_HANDLER_FAILED', message: 'Error: no' },
    attempts: 3,
  });
  if (status !== 'pending') {
    await db.pool.query(
      `UPDATE "${db.schema}".consumer_dead_letters SET status = $3 WHERE consumer_group = $1 AND message_id = $2`,
      [group, id, status],
    );
  }
}

/** What two consumer groups stored: billing behind on two partitions, emails caught up. */
export async function recordConsumerLag(db: TestSchema): Promise<void> {
  await recordLag(db.pool, db.schema, 'billing', [
    { topic: 'orders', partition: 0, committed: '100', end: '1300', lag: 1200 },
    { topic: 'orders', partition: 1, committed: null, end: '34', lag: 34 },
    { topic: 'orders', partition: 2, committed: '5', end: '5', lag: 0 },
  ]);
  await recordLag(db.pool, db.schema, 'emails', [
    { topic: 'orders', partition: 0, committed: '1300', end: '1300', lag: 0 },
  ]);
}

/** Per shard, the events after the shard's cursor, computed independently of the status query. */
export async function expectedBacklog(db: TestSchema): Promise<Map<number, number>> {
  const s = `"${db.schema}"`;
  const rows = await db.pool.query<{ shard: number; n: string }>(
    `SELECT l.shard, count(*) AS n FROM ${s}.log l
LEFT JOIN ${s}.cursors c ON c.shard = l.shard
WHERE c.shard IS NULL OR (l.xid, l.seq) > (c.xid, c.seq)
GROUP BY l.shard`,
  );
  return new Map(rows.rows.map((r) => [r.shard, Number(r.n)]));
}

export function backlogByShard(status: HeraldStatus): Map<number, number> {
  return new Map(status.backlog.shards.filter((s) => s.events > 0).map((s) => [s.shard, s.events]));
}

// Other sessions on the same server (other test files, other work) may hold a transaction open
// for a moment; assertions of health leave room for that.
export const patient = { maxTransactionSeconds: 3600 };
