/**
 * The embedded default: PGlite (PostgreSQL in-process) as the store and the PostgreSQL transport
 * as the broker. The first path end to end, with no server started: events written in a
 * transaction reach a consumer with their CloudEvents attributes, in order per key, once; a
 * rolled-back transaction delivers nothing.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import {
  type ConsumedEvent,
  createConsumer,
  createOutbox,
  createRelay,
  defineEvent,
  type HeraldError,
  migrate,
  silentLogger,
  withTransaction,
} from '../../src/index.ts';
import { type PglitePool, pglite } from '../../src/store/pglite.ts';
import { postgres } from '../../src/transports/postgres/index.ts';
import { waitFor } from '../support/relay-process.ts';

const Reserved = defineEvent({
  type: 'inventory.stock.reserved',
  version: 1,
  destination: 'inventory',
  schema: z.object({ reservationId: z.string(), productId: z.string(), quantity: z.number().int().positive() }),
  key: (p) => p.productId,
  aggregate: (p) => ({ type: 'reservation', id: p.reservationId }),
});

describe('the embedded default: PGlite and the PostgreSQL transport, no server', () => {
  let pool: PglitePool;
  before(async () => {
    pool = await pglite();
    await migrate(pool, { schema: 'herald' });
  });
  after(() => pool.end());

  it('a data directory that cannot be opened is HERALD_DATABASE_UNAVAILABLE, not a missing package', async () => {
    const file = join(tmpdir(), `herald-not-a-dir-${process.pid}`);
    writeFileSync(file, 'a file, not a directory');
    try {
      await assert.rejects(pglite({ dataDir: join(file, 'data') }), (error: HeraldError) => {
        assert.equal(error.code, 'HERALD_DATABASE_UNAVAILABLE');
        assert.match(error.message, /PGlite could not open its data directory .*herald-not-a-dir/);
        return true;
      });
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('delivers committed events once, in order per key, with their attributes; rolled-back ones never', async () => {
    const outbox = createOutbox({ source: '/inventory' });
    const transport = postgres({ db: pool, pollIntervalMs: 20 });
    const relay = createRelay({ db: pool, transport, logger: silentLogger, pollIntervalMs: 20 });
    const consumer = createConsumer({ transport, group: 'billing', db: pool, lagIntervalMs: 0 });
    const seen: ConsumedEvent<z.infer<typeof Reserved.schema>>[] = [];
    consumer.on(Reserved, async (event, { tx }) => {
      await tx.query('SELECT 1');
      seen.push(event);
    });
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const first = Reserved(
      { reservationId: 'r-0', productId: 'p-1', quantity: 1 },
      { correlationId: 'order-7', traceparent, headers: { tenant: 'acme' } },
    );
    await withTransaction(pool, (tx) => outbox.add(tx, first));
    await assert.rejects(
      withTransaction(pool, async (tx) => {
        await outbox.add(tx, Reserved({ reservationId: 'r-x', productId: 'p-1', quantity: 9 }));
        throw new Error('business rule failed');
      }),
      /business rule failed/,
    );
    for (let i = 1; i < 200; i++) {
      await withTransaction(pool, (tx) =>
        outbox.add(tx, Reserved({ reservationId: `r-${i}`, productId: `p-${i % 5}`, quantity: i })),
      );
    }
    await relay.start();
    await consumer.start();
    try {
      await waitFor('every event', () => seen.length >= 200, 60_000);
      // The same events published again (a replay, a relay crash after the ack) change nothing.
      const again = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM herald.broker_messages');
      await pool.query(
        `INSERT INTO herald.broker_messages (topic, partition, id, key, value, headers)
         SELECT topic, partition, id, key, value, headers FROM herald.broker_messages ORDER BY xid, seq LIMIT 10`,
      );
      await waitFor('the copies', () => consumer.stats().duplicates === 10, 30_000);
      assert.equal(again.rows[0]?.n, '200');
    } finally {
      await consumer.stop();
      await relay.stop();
      await transport.close();
    }
    assert.equal(seen.length, 200);
    assert.equal(
      seen.find((e) => e.payload.reservationId === 'r-x'),
      undefined,
      'nothing from rolled-back work',
    );
    const head = seen.find((e) => e.id === first.id);
    assert.ok(head);
    assert.equal(head.source, '/inventory');
    assert.equal(head.subject, 'reservation/r-0');
    assert.equal(head.correlationId, 'order-7');
    assert.equal(head.traceparent, traceparent);
    assert.deepEqual(head.headers, { tenant: 'acme' });
    for (let k = 0; k < 5; k++) {
      const quantities = seen.filter((e) => e.key === `p-${k}`).map((e) => e.payload.quantity);
      assert.deepEqual(
        quantities,
        [...quantities].sort((a, b) => a - b),
        `order of p-${k}`,
      );
    }
  });
});
