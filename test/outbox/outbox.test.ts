import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { z } from 'zod';
import { createOutbox, defineEvent, HeraldError } from '../../src/index.ts';
import { databaseUrl, freshSchema, inTransaction, uniqueName } from '../support/env.ts';

const ItemAdded = defineEvent({
  type: 'cart.item_added',
  version: 1,
  schema: z.object({ cartId: z.string(), sku: z.string(), quantity: z.number().int().positive() }),
  key: (p) => p.cartId,
  aggregate: (p) => ({ type: 'cart', id: p.cartId }),
});

describe('outbox.add', () => {
  let db: Awaited<ReturnType<typeof freshSchema>>;
  before(async () => {
    db = await freshSchema();
    await db.pool.query(`CREATE TABLE "${db.schema}".carts (id text primary key)`);
  });
  after(() => db.drop());
  const count = async () => Number((await db.pool.query(`SELECT count(*) FROM "${db.schema}".log`)).rows[0].count);

  it('writes events in the caller transaction, in order, with their envelope', async () => {
    const outbox = createOutbox({ schema: db.schema, source: '/carts' });
    const events = Array.from({ length: 5 }, (_, i) => ItemAdded({ cartId: 'c-1', sku: `s-${i}`, quantity: i + 1 }));
    await inTransaction(db.pool, async (tx) => {
      await tx.query(`INSERT INTO "${db.schema}".carts VALUES ('c-1')`);
      const added = await outbox.add(tx, events);
      assert.deepEqual(
        added.map((a) => a.id),
        events.map((e) => e.id),
      );
    });
    const rows = (
      await db.pool.query(
        `SELECT id, source, subject, aggregate_type, aggregate_id, partition_key, correlation_id, payload, shard, xid::text FROM "${db.schema}".log ORDER BY xid, seq`,
      )
    ).rows;
    assert.deepEqual(
      rows.map((r) => r.id),
      events.map((e) => e.id),
    );
    const first = rows[0];
    assert.equal(first.source, '/carts');
    assert.equal(first.subject, 'cart/c-1');
    assert.equal(first.partition_key, 'c-1');
    assert.equal(first.correlation_id, events[0]?.id, 'correlation starts at the first event');
    assert.deepEqual(first.payload, { cartId: 'c-1', sku: 's-0', quantity: 1 });
    assert.ok(first.shard >= 0 && first.shard < 64);
    assert.equal(new Set(rows.map((r) => r.xid)).size, 1, 'one transaction');
    assert.equal(new Set(rows.map((r) => r.shard)).size, 1, 'one key, one shard');
  });

  it('rejects an invalid payload before writing anything; the transaction stays usable', async () => {
    const outbox = createOutbox({ schema: db.schema });
    const before = await count();
    await inTransaction(db.pool, async (tx) => {
      const good = ItemAdded({ cartId: 'c-2', sku: 'ok', quantity: 1 });
      const bad = ItemAdded({ cartId: 'c-2', sku: 'bad', quantity: -3 });
      const error = await outbox.add(tx, [good, bad]).catch((e: unknown) => e);
      assert.ok(error instanceof HeraldError);
      assert.equal(error.code, 'HERALD_INVALID_PAYLOAD');
      assert.match(error.message, /quantity/);
      // The transaction was not touched: the caller can go on and commit other work.
      await tx.query(`INSERT INTO "${db.schema}".carts VALUES ('c-2')`);
    });
    assert.equal(await count(), before);
    assert.equal((await db.pool.query(`SELECT 1 FROM "${db.schema}".carts WHERE id = 'c-2'`)).rows.length, 1);
  });

  it('rejects things that are not events, and payloads over the size limit', async () => {
    const outbox = createOutbox({ schema: db.schema, maxPayloadBytes: 100 });
    await inTransaction(db.pool, async (tx) => {
      const notEvent = await outbox.add(tx, { type: 'cart.item_added' } as never).catch((e: unknown) => e);
      assert.equal((notEvent as HeraldError).code, 'HERALD_INVALID_EVENT');
      const big = ItemAdded({ cartId: 'c-3', sku: 'x'.repeat(200), quantity: 1 });
      const tooLarge = await outbox.add(tx, big).catch((e: unknown) => e);
      assert.equal((tooLarge as HeraldError).code, 'HERALD_MESSAGE_TOO_LARGE');
    });
  });

  it('says to run migrate when the schema is missing', async () => {
    const outbox = createOutbox({ schema: uniqueName('herald_missing') });
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const error = await outbox
        .add(client, ItemAdded({ cartId: 'c', sku: 's', quantity: 1 }))
        .catch((e: unknown) => e);
      assert.equal((error as HeraldError).code, 'HERALD_NOT_MIGRATED');
      assert.match((error as Error).message, /herald migrate/);
    } finally {
      await client.end();
    }
  });

  it('validates the schema name in one place', () => {
    assert.throws(() => createOutbox({ schema: 'x"; DROP TABLE y; --' }), { code: 'HERALD_INVALID_IDENTIFIER' });
  });
});
