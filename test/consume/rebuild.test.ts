import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { z } from 'zod';
import { createConsumer, createOutbox, createRelay, defineEvent, silentLogger } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, freshSchema, inTransaction, type TestSchema, uniqueName } from '../support/env.ts';
import { createTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

/**
 * A projection rebuilt from history: a new group with `from: 'history'` reads the log first, then
 * the broker, while writers keep writing; its tables must equal the live group's, every event
 * applied once.
 */
describe("consumers: from: 'history' rebuilds a projection", () => {
  let db: TestSchema;
  let topic: string;
  const transport = kafka({ brokers });
  before(async () => {
    db = await freshSchema();
    topic = await createTopic(3, 'herald-rebuild');
    for (const table of ['levels_live', 'levels_v2']) {
      await db.pool.query(`CREATE TABLE "${db.schema}".${table} (sku text PRIMARY KEY, qty int NOT NULL)`);
    }
    await db.pool.query(`CREATE TABLE "${db.schema}".applied_v2 (event_id uuid, sku text)`);
  });
  after(async () => {
    await transport.close();
    await db.drop();
  });

  it('reads the log, then the broker, with no gap and no double while events keep coming', async () => {
    const Adjusted = defineEvent({
      type: 'rebuild.stock.adjusted',
      version: 1,
      destination: topic,
      schema: z.object({ sku: z.string(), delta: z.number().int() }),
      key: (p) => p.sku,
    });
    const s = `"${db.schema}"`;
    const outbox = createOutbox({ schema: db.schema });
    let written = 0;
    const write = async (n: number) => {
      for (let i = 0; i < n; i += 10) {
        await inTransaction(db.pool, (tx) =>
          outbox.add(
            tx,
            Array.from({ length: 10 }, (_, j) => Adjusted({ sku: `sku-${(i + j) % 23}`, delta: ((i + j) % 7) - 2 })),
          ),
        );
        written += 10;
      }
    };
    const relay = createRelay({ db: db.pool, schema: db.schema, transport, logger: silentLogger, pollIntervalMs: 20 });
    await relay.start();
    const live = createConsumer({
      transport,
      group: uniqueName('live'),
      db: db.pool,
      schema: db.schema,
      logger: silentLogger,
    });
    live.on(Adjusted, async (e, { tx }) => {
      await tx.query(
        `INSERT INTO ${s}.levels_live VALUES ($1, $2) ON CONFLICT (sku) DO UPDATE SET qty = levels_live.qty + $2`,
        [e.payload.sku, e.payload.delta],
      );
    });
    await live.start();
    try {
      await write(1200);
      await waitFor('the live group to handle the first 1200', async () => live.stats().handled >= 1200, 60_000);
      // The broker's retention has passed for those: only the log still holds them.
      const admin = new Admin({ clientId: 'herald-test-admin', bootstrapBrokers: brokers });
      await admin.deleteRecords({
        topics: [{ name: topic, partitions: [0, 1, 2].map((partition) => ({ partition, offset: -1n })) }],
      });
      await admin.close();
      await write(300);
      // The live read model is up to date before the rebuild begins.
      await waitFor('the live group to handle 1500', async () => live.stats().handled >= 1500, 60_000);

      // #region rebuild
      const rebuild = createConsumer({
        transport,
        group: 'stock-levels-v2', // a new group: its own inbox, its own fresh tables
        db: db.pool,
        schema: db.schema,
        from: 'history', // the log (and archive) first, then the broker
        logger: silentLogger,
      });
      rebuild.on(Adjusted, async (e, { tx }) => {
        await tx.query(
          `INSERT INTO ${s}.levels_v2 VALUES ($1, $2) ON CONFLICT (sku) DO UPDATE SET qty = levels_v2.qty + $2`,
          [e.payload.sku, e.payload.delta],
        );
        await tx.query(`INSERT INTO ${s}.applied_v2 VALUES ($1, $2)`, [e.id, e.payload.sku]);
      });
      await rebuild.start();
      // #endregion rebuild
      // Writers do not stop for a rebuild.
      await write(400);
      try {
        const applied = async () =>
          Number((await db.pool.query(`SELECT count(*) AS n FROM ${s}.applied_v2`)).rows[0].n);
        await waitFor(
          'both groups to apply every event',
          async () => (await applied()) >= written && live.stats().handled >= written,
          90_000,
        );
        // Settle: a double would arrive after the count was reached.
        await new Promise((r) => setTimeout(r, 1500));
        const counts = (
          await db.pool.query(`SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS d FROM ${s}.applied_v2`)
        ).rows[0];
        assert.equal(counts.n, written, 'every event applied once: no gap, no double');
        assert.equal(counts.d, written);
        const table = async (name: string) =>
          (await db.pool.query(`SELECT sku, qty FROM ${s}.${name} ORDER BY sku`)).rows;
        assert.deepEqual(
          await table('levels_v2'),
          await table('levels_live'),
          'the rebuilt read model equals the live one',
        );
        const state = (
          await db.pool.query(`SELECT events::int AS events, completed_at FROM ${s}.rebuilds WHERE group_name = $1`, [
            'stock-levels-v2',
          ])
        ).rows[0];
        assert.ok(state.completed_at, 'the rebuild is recorded as complete');
        assert.ok(state.events >= 1500, `history gave the events written before it began (${state.events})`);
        assert.ok(
          rebuild.stats().duplicates >= 300,
          `the broker's copies of history's events were skipped by the inbox (${rebuild.stats().duplicates})`,
        );
      } finally {
        await rebuild.stop();
      }
    } finally {
      await live.stop();
      await relay.stop();
    }
  });

  it('refuses history with positions in the database', () => {
    assert.throws(
      () =>
        createConsumer({ transport, group: 'g', db: db.pool, schema: db.schema, from: 'history', offsets: 'database' }),
      (e) =>
        (e as { code?: string }).code === 'HERALD_INVALID_CONFIG' &&
        /a rebuild needs the inbox/.test((e as Error).message),
    );
  });
});
