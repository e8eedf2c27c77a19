import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { parseKeep } from '../../src/config/keep.ts';
import { createOutbox, createRelay, defineEvent, readStream, replayEvents } from '../../src/index.ts';
import { maintainLog } from '../../src/store/retention.ts';
import { ensureCursors } from '../../src/store/sql/cursors.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, freshSchema, inTransaction, type TestSchema } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';

const aggregate = (p: { orderId: string }) => ({ type: 'order', id: p.orderId });
const Placed = defineEvent({
  type: 'archive.order.placed',
  version: 1,
  schema: z.object({ orderId: z.string(), n: z.number() }),
  key: (p) => p.orderId,
  aggregate,
});
const Audited = defineEvent({
  type: 'archive.order.audited',
  version: 1,
  schema: z.object({ orderId: z.string(), n: z.number() }),
  key: (p) => p.orderId,
  aggregate,
});
const Pinged = defineEvent({
  type: 'archive.ping',
  version: 1,
  schema: z.object({ orderId: z.string(), n: z.number() }),
  key: (p) => p.orderId,
  aggregate,
});
const day = 86_400_000;

describe('retention per event type: the archive', () => {
  let db: TestSchema;
  const count = async (table: string, type?: string) =>
    (
      await db.pool.query(
        `SELECT count(*)::int AS n FROM "${db.schema}".${table}${type ? ' WHERE type = $1' : ''}`,
        type ? [type] : [],
      )
    ).rows[0].n as number;
  const publishAll = () =>
    db.pool.query(
      `UPDATE "${db.schema}".cursors SET (xid, seq) = (SELECT xid, seq FROM "${db.schema}".log ORDER BY xid DESC, seq DESC LIMIT 1)`,
    );
  before(async () => {
    db = await freshSchema();
    await ensureCursors(db.pool, db.schema);
  });
  after(() => db.drop());

  it('moves kept types to the archive as partitions drop, reads them back, and expires each type on its own days', async () => {
    const outbox = createOutbox({ schema: db.schema });
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) {
      const added = await inTransaction(db.pool, (tx) =>
        outbox.add(tx, [Placed({ orderId: 'o1', n }), Audited({ orderId: 'o1', n }), Pinged({ orderId: 'o1', n })]),
      );
      ids.push(...added.map((a) => a.id));
    }
    await publishAll();

    // #region keep
    const keep = { 'archive.order.placed': 'forever', 'archive.order.audited': 30 } as const;
    // createRelay({ ..., retentionDays: 7, keep }) or `herald relay --keep archive.order.placed=forever,archive.order.audited=30`
    // #endregion keep
    const later = new Date(Date.now() + 9 * day);
    const first = await maintainLog(db.pool, db.schema, { now: later, retentionDays: 7, keep });
    assert.ok(first.dropped.includes('log_initial'), 'the partition is dropped whole');
    assert.equal(first.archived, 6, 'placed and audited: 3 each; pinged is not kept');
    assert.equal(await count('log'), 0);
    assert.equal(await count('log_archive', Placed.type), 3);
    assert.equal(await count('log_archive', Audited.type), 3);
    assert.equal(await count('log_archive', Pinged.type), 0);

    // A new event of the same order, in the live log: one history across both.
    const [latest] = await inTransaction(db.pool, (tx) => outbox.add(tx, Placed({ orderId: 'o1', n: 3 })));
    const page = await readStream({ aggregateType: 'order', aggregateId: 'o1' }, { db: db.pool, schema: db.schema });
    const expected = ids.filter((_, i) => i % 3 !== 2).concat(latest?.id as string);
    assert.deepEqual(
      page.events.map((e) => e.id),
      expected,
      'archived then live, in the order written',
    );

    // Replay reads the archive too: a backfill of the placed orders to Kafka.
    const topic = await createTopic(1, 'herald-archive-replay');
    const transport = kafka({ brokers });
    try {
      const replayed = await replayEvents({
        db: db.pool,
        schema: db.schema,
        transport,
        from: new Date(0),
        types: [Placed.type],
        destination: topic,
      });
      assert.equal(replayed.published, 4);
      const read = await readTopic(topic, 4);
      assert.deepEqual(
        read.map((r) => JSON.parse(r.value).n),
        [0, 1, 2, 3],
      );
    } finally {
      await transport.close();
    }

    // Forty days on: audited (30 days) expires from the archive, placed (forever) stays, and the
    // published live event past retention is swept from the default partition into the archive.
    await publishAll();
    const muchLater = new Date(Date.now() + 40 * day);
    const second = await maintainLog(db.pool, db.schema, { now: muchLater, retentionDays: 7, keep });
    assert.equal(second.expired, 3);
    assert.equal(await count('log_archive', Audited.type), 0);
    assert.equal(await count('log_archive', Placed.type), 4);
    assert.equal(await count('log'), 0);

    // Without keep, nothing is archived (the default) and nothing archived is touched.
    await inTransaction(db.pool, (tx) => outbox.add(tx, Placed({ orderId: 'o2', n: 0 })));
    await publishAll();
    const third = await maintainLog(db.pool, db.schema, { now: new Date(Date.now() + 80 * day), retentionDays: 7 });
    assert.equal(third.archived, 0);
    assert.equal(third.expired, 0);
    assert.equal(await count('log_archive', Placed.type), 4);
  });

  it('refuses a bad keep with the type named, as an option and as HERALD_KEEP', () => {
    assert.throws(
      () =>
        createRelay({ db: db.pool, schema: db.schema, transport: kafka({ brokers }), keep: { 'a.b': -1 as never } }),
      (e) => (e as { code?: string }).code === 'HERALD_INVALID_CONFIG' && /keep\['a\.b'\]/.test((e as Error).message),
    );
    assert.deepEqual(parseKeep('order.placed=forever, *=30', 'HERALD_KEEP'), { 'order.placed': 'forever', '*': 30 });
    assert.throws(
      () => parseKeep('order.placed=always', 'HERALD_KEEP'),
      (e) => (e as { code?: string }).code === 'HERALD_INVALID_CONFIG' && /HERALD_KEEP/.test((e as Error).message),
    );
  });
});
