/**
 * The store on PostgreSQL and on PGlite, through the same code: migrations, the outbox's writes
 * and validation, the relay's gapless reads, cursors and leases, dead letters, retention, the
 * consumer inbox and the broker tables. What PGlite cannot do is named in docs/pglite.md (and
 * why): it is one connection in one process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { createOutbox, defineEvent, isHeraldError, migrate } from '../../src/index.ts';
import { openPool, type PoolLike, withTransaction } from '../../src/store/connect.ts';
import { pglite } from '../../src/store/pglite.ts';
import { maintainPartitions } from '../../src/store/retention.ts';
import { advanceCursors, ensureCursors, loadCursors } from '../../src/store/sql/cursors.ts';
import { insertDeadLetter, listDeadLetters } from '../../src/store/sql/dead-letters.ts';
import { claimInbox } from '../../src/store/sql/inbox.ts';
import { acquireLeases, renewLeases } from '../../src/store/sql/leases.ts';
import { readBatch } from '../../src/store/sql/read-batch.ts';
import { appendMessages, readPartition } from '../../src/transports/postgres/sql.ts';
import { databaseUrl, uniqueName } from '../support/env.ts';
import { waitFor } from '../support/relay-process.ts';

const Added = defineEvent({
  type: 'cart.item_added',
  version: 1,
  schema: z.object({ cart: z.string(), sku: z.string(), n: z.number().int().positive() }),
  key: (p) => p.cart,
});

const stores: { name: string; open(): Promise<{ pool: PoolLike; schema: string; close(): Promise<void> }> }[] = [
  {
    name: 'PostgreSQL',
    async open() {
      const { pool } = openPool(databaseUrl, 4);
      const schema = uniqueName('herald_parity');
      return {
        pool,
        schema,
        close: async () => {
          await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await pool.end?.();
        },
      };
    },
  },
  {
    name: 'PGlite',
    async open() {
      const pool = await pglite();
      return { pool, schema: 'herald', close: () => pool.end() };
    },
  },
];

for (const store of stores) {
  describe(`the store on ${store.name}`, () => {
    let pool: PoolLike;
    let schema: string;
    let close: () => Promise<void>;
    before(async () => {
      ({ pool, schema, close } = await store.open());
    });
    after(() => close());

    it('migrates once, records each migration, and a second run applies nothing', async () => {
      const first = await migrate(pool, { schema });
      assert.ok(first.applied.length >= 6, `applied ${first.applied.length}`);
      const again = await migrate(pool, { schema });
      assert.equal(again.applied.length, 0);
      const ledger = await pool.query<{ id: number }>(`SELECT id FROM "${schema}".migrations ORDER BY id`);
      assert.deepEqual(
        ledger.rows.map((r) => Number(r.id)),
        first.applied.map((m) => m.id),
      );
    });

    it('counts rows as node-postgres does: rows returned by a query, rows changed by a write', async () => {
      const selected = await pool.query('SELECT * FROM generate_series(1, 3)');
      assert.equal(selected.rowCount, 3);
      const withParams = await pool.query('SELECT * FROM generate_series(1, $1::int)', [2]);
      assert.equal(withParams.rowCount, 2);
      await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"; CREATE TABLE "${schema}".counted (n int)`);
      const inserted = await pool.query(`INSERT INTO "${schema}".counted SELECT generate_series(1, $1::int)`, [4]);
      assert.equal(inserted.rowCount, 4);
      const updated = await pool.query(`UPDATE "${schema}".counted SET n = n + 1 WHERE n > 2`);
      assert.equal(updated.rowCount, 2);
    });

    it('writes events with the business change, or neither; rejects an invalid payload before writing', async () => {
      const outbox = createOutbox({ schema });
      await withTransaction(pool, (tx) =>
        outbox.add(tx, [Added({ cart: 'c1', sku: 'a', n: 1 }), Added({ cart: 'c1', sku: 'b', n: 2 })]),
      );
      await assert.rejects(
        withTransaction(pool, async (tx) => {
          await outbox.add(tx, Added({ cart: 'c2', sku: 'x', n: 1 }));
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      await assert.rejects(
        withTransaction(pool, (tx) => outbox.add(tx, Added({ cart: 'c3', sku: 'y', n: -1 }))),
        (e: unknown) => isHeraldError(e, 'HERALD_INVALID_PAYLOAD'),
      );
      const rows = await pool.query<{ partition_key: string }>(
        `SELECT partition_key FROM "${schema}".log ORDER BY xid, seq`,
      );
      assert.deepEqual(
        rows.rows.map((r) => r.partition_key),
        ['c1', 'c1'],
      );
    });

    it('reads the log in commit order after a position, and moves fenced cursors', async () => {
      const outbox = createOutbox({ schema });
      for (let i = 0; i < 30; i++)
        await withTransaction(pool, (tx) => outbox.add(tx, Added({ cart: `c${i % 3}`, sku: 's', n: i + 1 })));
      const shards = await ensureCursors(pool, schema);
      // The read is gapless: it takes rows only below the oldest transaction still open in the
      // whole server, which another test's may be for a moment (the tests run side by side).
      let all: Awaited<ReturnType<typeof readBatch>> = [];
      await waitFor('every row below the oldest open transaction', async () => {
        all = await readBatch(pool, schema, { xid: '0', seq: '0' }, 1000, null);
        return all.length >= 32;
      });
      assert.equal(all.length, 32);
      const ns = all.slice(2).map((r) => (JSON.parse(r.payload) as { n: number }).n);
      assert.deepEqual(
        ns,
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      const page = await readBatch(pool, schema, { xid: all[9]?.xid as string, seq: all[9]?.seq as string }, 5, null);
      assert.deepEqual(
        page.map((r) => r.id),
        all.slice(10, 15).map((r) => r.id),
      );
      const leases = await acquireLeases(
        pool,
        schema,
        'relay-a',
        Array.from({ length: shards }, (_, i) => i),
        5000,
      );
      assert.equal(leases.length, shards);
      assert.equal((await renewLeases(pool, schema, 'relay-a', leases, 5000)).length, shards);
      const to = { xid: all[0]?.xid as string, seq: all[0]?.seq as string };
      const lost = await advanceCursors(pool, schema, 'relay-a', leases, to);
      assert.deepEqual(lost, []);
      const cursors = await loadCursors(pool, schema, [all[0]?.shard as number]);
      assert.equal(cursors.get(all[0]?.shard as number)?.seq, all[0]?.seq);
      const stale = leases.map((l) => ({ ...l, epoch: '0' }));
      assert.ok((await advanceCursors(pool, schema, 'relay-a', stale, to)).length > 0, 'a stale epoch is refused');
    });

    it('keeps dead letters with their reason', async () => {
      const [row] = await readBatch(pool, schema, { xid: '0', seq: '0' }, 1, null);
      assert.ok(row);
      await insertDeadLetter(
        pool,
        schema,
        row,
        'orders',
        { code: 'HERALD_MESSAGE_TOO_LARGE', message: 'too big' },
        3,
        new Date(),
      );
      const [letter] = await listDeadLetters(pool, schema, { ids: [row.id] });
      assert.equal(letter?.error_code, 'HERALD_MESSAGE_TOO_LARGE');
      assert.equal(letter?.attempts, 3);
    });

    it('drops whole days of the log once published, and of the inbox once past the window', async () => {
      const now = new Date();
      const inbox = await maintainPartitions(pool, schema, 'inbox', { retentionDays: 7, daysBehind: 7, now });
      assert.equal(inbox.created.length, 15);
      const claim = (id: string) =>
        withTransaction(pool, (tx) => claimInbox(tx, schema, 'g', [{ eventId: id, eventTime: now, type: 't' }], true));
      assert.equal((await claim('e-1')).size, 1);
      assert.equal((await claim('e-1')).size, 0, 'a second delivery is a duplicate');
      const later = await maintainPartitions(pool, schema, 'inbox', {
        retentionDays: 7,
        daysBehind: 7,
        now: new Date(now.getTime() + 9 * 86_400_000),
      });
      assert.ok(later.dropped.length >= 1);
      assert.equal((await claim('e-1')).size, 1, 'past the window, the event is new again');
    });

    it('keeps broker messages per partition in order', async () => {
      const value = (n: number) => Buffer.from(JSON.stringify({ n }));
      await appendMessages(
        pool,
        schema,
        Array.from({ length: 20 }, (_, n) => ({
          topic: 't',
          partition: n % 2,
          id: `m${n}`,
          key: `k${n % 2}`,
          value: value(n),
          headers: { h: String(n) },
        })),
      );
      // The broker table's read is gapless too: rows only below the oldest transaction open in
      // the whole server, which another test's may be for a moment.
      let rows: Awaited<ReturnType<typeof readPartition>> = [];
      await waitFor('every message below the oldest open transaction', async () => {
        rows = await readPartition(pool, schema, 't', 1, { xid: '0', seq: '0' }, 100, true);
        return rows.length >= 10;
      });
      assert.deepEqual(
        rows.map((r) => JSON.parse(r.value.toString('utf8')).n),
        [1, 3, 5, 7, 9, 11, 13, 15, 17, 19],
      );
      assert.equal(rows[0]?.headers.h, '1');
      assert.ok(Buffer.isBuffer(rows[0]?.value));
    });
  });
}
