import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { z } from 'zod';
import { createOutbox, createRelay, defineEvent, migrate, silentLogger, uuidv7 } from '../../src/index.ts';
import { maintainLog, maintainPartitions } from '../../src/store/retention.ts';
import { ensureCursors } from '../../src/store/sql/cursors.ts';
import { claimInbox } from '../../src/store/sql/inbox.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, databaseUrl, freshSchema, inTransaction, type TestSchema, uniqueName } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';
import { legacyAdd } from '../support/legacy.ts';
import { waitFor } from '../support/relay-process.ts';

const Kept = defineEvent({
  type: 'retention.kept',
  version: 1,
  schema: z.object({ n: z.number() }),
  key: (p) => `k${p.n % 5}`,
});
const day = 86_400_000;

const partitionsOf = async (db: pg.Pool, schema: string) =>
  (
    await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = to_regclass($1) ORDER BY 1`,
      [`"${schema}".log`],
    )
  ).rows.map((r) => r.name);

describe('retention by time partitions', () => {
  let db: TestSchema;
  before(async () => {
    db = await freshSchema();
    await ensureCursors(db.pool, db.schema);
  });
  after(() => db.drop());
  const count = async () =>
    (await db.pool.query(`SELECT count(*)::int AS n FROM "${db.schema}".log`)).rows[0].n as number;

  it('keeps unpublished partitions, drops published ones whole once they age out, creates days ahead', async () => {
    const outbox = createOutbox({ schema: db.schema });
    await inTransaction(db.pool, (tx) =>
      outbox.add(
        tx,
        Array.from({ length: 20 }, (_, n) => Kept({ n })),
      ),
    );
    const before = await partitionsOf(db.pool, db.schema);
    assert.ok(before.includes('log_initial') && before.includes('log_default'));
    assert.equal(before.filter((p) => p.startsWith('log_p')).length, 7, 'a week of days made by the migration');

    // Nine days later, nothing published yet: the partition holding the events must stay.
    const later = new Date(Date.now() + 9 * day);
    const first = await maintainLog(db.pool, db.schema, { now: later, retentionDays: 7 });
    assert.deepEqual(
      first.kept.map((k) => [k.partition, k.reason]),
      [['log_initial', 'holds events not yet published']],
    );
    assert.equal(await count(), 20);
    assert.ok(first.created.length >= 7, 'days ahead of the moved clock are created');
    assert.ok(first.dropped.length >= 1, 'an empty partition past retention is dropped');

    // Publish (move every cursor past the rows), then the same clock drops it whole.
    await db.pool.query(
      `UPDATE "${db.schema}".cursors SET (xid, seq) = (SELECT xid, seq FROM "${db.schema}".log ORDER BY xid DESC, seq DESC LIMIT 1)`,
    );
    const second = await maintainLog(db.pool, db.schema, { now: later, retentionDays: 7 });
    assert.ok(second.dropped.includes('log_initial'));
    assert.equal(await count(), 0, 'gone by DROP TABLE, not DELETE');
    const after = await partitionsOf(db.pool, db.schema);
    assert.ok(!after.includes('log_initial'));
    assert.ok(after.includes(`log_p${later.toISOString().slice(0, 10).replaceAll('-', '')}`));

    // Writing still works: today's rows land in the default partition when no day partition exists.
    await inTransaction(db.pool, (tx) => outbox.add(tx, Kept({ n: 99 })));
    assert.equal(await count(), 1);
    const inDefault = async () =>
      (await db.pool.query(`SELECT count(*)::int AS n FROM "${db.schema}".log_default`)).rows[0].n as number;
    assert.equal(await inDefault(), 1);

    // The default partition is never dropped: past retention, its published rows are deleted.
    const stillUnpublished = await maintainLog(db.pool, db.schema, { now: later, retentionDays: 7 });
    assert.equal(stillUnpublished.swept, 0, 'inside retention');
    const muchLater = new Date(Date.now() + 30 * day);
    const unpublished = await maintainLog(db.pool, db.schema, { now: muchLater, retentionDays: 7 });
    assert.equal(unpublished.swept, 0, 'not published yet: kept');
    await db.pool.query(
      `UPDATE "${db.schema}".cursors SET (xid, seq) = (SELECT xid, seq FROM "${db.schema}".log ORDER BY xid DESC, seq DESC LIMIT 1)`,
    );
    const published = await maintainLog(db.pool, db.schema, { now: muchLater, retentionDays: 7 });
    assert.equal(published.swept, 1);
    assert.equal(await inDefault(), 0);
  });

  it('keeps the consumer inbox by the event time: an event stays a duplicate inside the window, whole days drop after it', async () => {
    const now = new Date();
    const made = await maintainPartitions(db.pool, db.schema, 'inbox', { retentionDays: 7, daysBehind: 7, now });
    assert.equal(made.created.length, 15, 'seven days behind, today, seven ahead');
    const claim = (id: string, time: Date) =>
      inTransaction(db.pool, (tx) =>
        claimInbox(tx, db.schema, 'g', [{ eventId: id, eventTime: time, type: 't' }], false),
      );
    const sixDaysOld = new Date(now.getTime() - 6 * day);
    assert.equal((await claim('e-1', sixDaysOld)).size, 1);
    assert.equal((await claim('e-1', sixDaysOld)).size, 0, 'a second delivery is a duplicate');
    assert.equal((await claim('e-2', now)).size, 1);

    // Three days later e-1 is nine days old, past the window: its day is dropped whole. e-2's stays.
    const later = await maintainPartitions(db.pool, db.schema, 'inbox', {
      retentionDays: 7,
      daysBehind: 7,
      now: new Date(now.getTime() + 3 * day),
    });
    assert.equal(later.dropped.length, 3, `dropped ${later.dropped.join(', ')}`);
    const left = await db.pool.query(`SELECT event_id FROM "${db.schema}".inbox ORDER BY 1`);
    assert.deepEqual(
      left.rows.map((r) => r.event_id),
      ['e-2'],
    );

    // An event from long ago has no day partition: it lands in the default one, and goes by DELETE.
    const yearOld = new Date(now.getTime() - 365 * day);
    assert.equal((await claim('e-old', yearOld)).size, 1);
    const swept = await maintainPartitions(db.pool, db.schema, 'inbox', { retentionDays: 7, daysBehind: 7, now });
    assert.equal(swept.swept, 1);
    assert.equal((await claim('e-old', yearOld)).size, 1, 'past the window it is no longer known');
  });

  it('an install from before partitions is upgraded with its events, which are then published', async () => {
    const schema = uniqueName('herald_upgrade');
    const pool = new pg.Pool({ connectionString: databaseUrl });
    try {
      await migrate(pool, { schema, to: 3 });
      const topic = await createTopic(1);
      const outbox = createOutbox({ schema, preparedStatements: false });
      // Written by the release of that time (before 0008's shard function existed).
      const old = Array.from({ length: 5 }, (_, n) => ({
        id: uuidv7(),
        type: Kept.type,
        key: `k${n % 5}`,
        payload: { n },
        destination: topic,
      }));
      await inTransaction(pool, (tx) => legacyAdd(tx, schema, old));
      await migrate(pool, { schema });
      const fresh = await inTransaction(pool, (tx) =>
        outbox.add(
          tx,
          Array.from({ length: 5 }, (_, n) => Kept({ n: n + 5 }, { destination: topic })),
        ),
      );
      const relay = createRelay({ db: pool, schema, transport: kafka({ brokers }), logger: silentLogger });
      await relay.start();
      await waitFor('all ten', () => relay.stats().published === 10);
      await relay.stop();
      const messages = await readTopic(topic, 10);
      assert.deepEqual(
        messages.map((m) => m.headers.ce_id),
        [...old, ...fresh].map((a) => a.id),
      );
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  });
});
