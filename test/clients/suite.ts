/**
 * The store conformance suite: the same tests for every database client, on real PostgreSQL.
 * Each client's test file calls `clientSuite(fixture)`; the fixture (harness.ts) writes its
 * business rows through the client's own API, and Herald writes through the same transaction.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { z } from 'zod';
import {
  createConsumer,
  createLogger,
  createOutbox,
  createRelay,
  defineEvent,
  HeraldError,
  isHeraldError,
  migrate,
  NonRetriableError,
  silentLogger,
  withTransaction,
} from '../../src/index.ts';
import { postgres } from '../../src/transports/postgres/index.ts';
import { databaseUrl, uniqueName } from '../support/env.ts';
import { waitFor } from '../support/relay-process.ts';
import { type ClientFixture, effectsTable, type OpenClient } from './harness.ts';

export const OrderPlaced = defineEvent({
  type: 'shop.order.placed',
  version: 1,
  schema: z.object({ orderId: z.string(), total: z.number().nonnegative() }),
  key: (p) => p.orderId,
  destination: 'orders',
});

/** Refused by the consumer's handler for good: its writes must not stay. */
export const OrderRejected = defineEvent({
  type: 'shop.order.rejected',
  version: 1,
  schema: z.object({ orderId: z.string() }),
  key: (p) => p.orderId,
  destination: 'orders',
});

/** Handled in batches. */
export const OrderBatched = defineEvent({
  type: 'shop.order.batched',
  version: 1,
  schema: z.object({ orderId: z.string() }),
  key: (p) => p.orderId,
  destination: 'batched',
});

/** Emitted by the consumer's handler in its transaction. */
export const PaymentRequested = defineEvent({
  type: 'shop.payment.requested',
  version: 1,
  schema: z.object({ orderId: z.string() }),
  key: (p) => p.orderId,
  destination: 'payments',
});

export function clientSuite(fixture: ClientFixture): void {
  describe(`the store through ${fixture.name}`, () => {
    const schema = uniqueName('herald_client');
    let admin: pg.Pool;
    let client: OpenClient;
    before(async () => {
      admin = new pg.Pool({ connectionString: databaseUrl, max: 4 });
      await migrate(admin, { schema });
      await admin.query(effectsTable(schema));
      client = await fixture.open(schema);
    });
    after(async () => {
      await client?.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    });

    const outbox = () => createOutbox({ schema, source: '/shop' });
    const logged = async () =>
      (await admin.query<{ id: string; xid: string }>(`SELECT id, xid::text FROM "${schema}".log ORDER BY xid, seq`))
        .rows;
    const effects = async (eventId: string) =>
      (
        await admin.query<{ xid: string }>(`SELECT xmin::text AS xid FROM "${schema}".effects WHERE event_id = $1`, [
          eventId,
        ])
      ).rows;

    it('outbox.add in the client’s transaction: committed with the business row, in one transaction', async () => {
      const event = OrderPlaced({ orderId: uniqueName('o'), total: 10 });
      const added = await client.transaction(async (tx) => {
        await client.insertEffect(tx, event.id, 'order row');
        return outbox().add(tx as never, event);
      });
      assert.deepEqual(
        added.map((a) => a.id),
        [event.id],
      );
      const row = (await logged()).find((r) => r.id === event.id);
      assert.ok(row, 'the event is in the log');
      const stored = await admin.query(`SELECT payload, headers FROM "${schema}".log WHERE id = $1`, [event.id]);
      assert.deepEqual(stored.rows[0], { payload: { orderId: event.payload.orderId, total: 10 }, headers: {} });
      const business = await effects(event.id);
      assert.equal(business.length, 1);
      // xmin of the business row is the same transaction as the log row's xid (below 2^32 here).
      assert.equal(business[0]?.xid, String(BigInt(row.xid) & 0xffffffffn));
    });

    it('a rolled-back transaction leaves neither the business row nor the event', async () => {
      const event = OrderPlaced({ orderId: uniqueName('o'), total: 1 });
      await assert.rejects(
        client.transaction(async (tx) => {
          await client.insertEffect(tx, event.id, 'order row');
          await outbox().add(tx as never, event);
          throw new Error('business rule failed');
        }),
        /business rule failed/,
      );
      assert.equal((await logged()).filter((r) => r.id === event.id).length, 0);
      assert.equal((await effects(event.id)).length, 0);
    });

    it('an invalid payload throws before writing and leaves the transaction usable', async () => {
      const good = OrderPlaced({ orderId: uniqueName('o'), total: 2 });
      const bad = OrderPlaced({ orderId: 'o-bad', total: -1 });
      const before = (await logged()).length;
      await client.transaction(async (tx) => {
        const error = await outbox()
          .add(tx as never, [good, bad])
          .catch((e: unknown) => e);
        assert.ok(error instanceof HeraldError);
        assert.equal(error.code, 'HERALD_INVALID_PAYLOAD');
        // Nothing failed in the database: the transaction goes on and commits.
        await client.insertEffect(tx, good.id, 'after the refusal');
        await outbox().add(tx as never, good);
      });
      const after = await logged();
      assert.equal(after.length, before + 1);
      assert.ok(after.some((r) => r.id === good.id));
      assert.equal((await effects(good.id)).length, 1);
    });

    it('several events in one call keep their order', async () => {
      const orderId = uniqueName('o');
      const events = Array.from({ length: 4 }, (_, i) => OrderPlaced({ orderId, total: i }));
      await client.transaction((tx) => outbox().add(tx as never, events));
      const ids = (await logged()).map((r) => r.id).filter((id) => events.some((e) => e.id === id));
      assert.deepEqual(
        ids,
        events.map((e) => e.id),
      );
      const payloads = await admin.query(
        `SELECT payload FROM "${schema}".log WHERE partition_key = $1 ORDER BY xid, seq`,
        [orderId],
      );
      assert.deepEqual(
        payloads.rows.map((r) => r.payload),
        events.map((e) => e.payload),
      );
    });

    it('a handle outside any transaction is refused, never written with autocommit', async () => {
      const event = OrderPlaced({ orderId: uniqueName('o'), total: 3 });
      await assert.rejects(outbox().add(client.outside as never, event), { code: 'HERALD_NO_TRANSACTION' });
      await assert.rejects(outbox().add(event), { code: 'HERALD_NO_TRANSACTION' });
      assert.equal((await logged()).filter((r) => r.id === event.id).length, 0);
    });

    it('withTransaction(db, fn): the client’s transaction, and outbox.add(event) finds it', async () => {
      const event = OrderPlaced({ orderId: uniqueName('o'), total: 4 });
      await withTransaction(client.db, async (tx) => {
        await client.insertEffect(tx, event.id, 'ambient');
        await outbox().add(event);
      });
      const row = (await logged()).find((r) => r.id === event.id);
      assert.ok(row);
      assert.equal((await effects(event.id))[0]?.xid, String(BigInt(row.xid) & 0xffffffffn));
      const lost = OrderPlaced({ orderId: uniqueName('o'), total: 5 });
      await assert.rejects(
        withTransaction(client.db, async (tx) => {
          await client.insertEffect(tx, lost.id, 'ambient');
          await outbox().add(lost);
          throw new Error('undo');
        }),
        /undo/,
      );
      assert.equal((await logged()).filter((r) => r.id === lost.id).length, 0);
      assert.equal((await effects(lost.id)).length, 0);
    });

    it('createOutbox({ transaction }): outbox.add(events) writes in what another library says is current', async () => {
      let current: unknown;
      const hooked = createOutbox({ schema, transaction: () => current });
      const event = OrderPlaced({ orderId: uniqueName('o'), total: 6 });
      await client.transaction(async (tx) => {
        current = tx;
        try {
          await client.insertEffect(tx, event.id, 'hooked');
          await hooked.add(event);
        } finally {
          current = undefined;
        }
      });
      const row = (await logged()).find((r) => r.id === event.id);
      assert.ok(row);
      assert.equal((await effects(event.id))[0]?.xid, String(BigInt(row.xid) & 0xffffffffn));
      await assert.rejects(hooked.add(OrderPlaced({ orderId: 'none', total: 0 })), { code: 'HERALD_NO_TRANSACTION' });
    });

    it('onBatch on the client: one transaction of the client for the batch, its writes and inbox rows', async () => {
      const transport = postgres({ db: admin, schema, pollIntervalMs: 20 });
      const relay = createRelay({ db: admin, schema, transport, logger: silentLogger, pollIntervalMs: 20 });
      const consumer = createConsumer({
        transport,
        group: uniqueName('b'),
        db: client.db,
        schema,
        topics: ['batched'],
        lagIntervalMs: 0,
        logger: silentLogger,
      });
      const batches: number[] = [];
      consumer.onBatch(
        OrderBatched,
        async (events, { tx }) => {
          for (const e of events) await client.insertEffect(tx, e.id, 'batched');
          batches.push(events.length);
        },
        { size: 10, maxWaitMs: 200 },
      );
      const events = Array.from({ length: 10 }, (_, i) => OrderBatched({ orderId: `b-${i}` }));
      await client.transaction((tx) => outbox().add(tx as never, events));
      await relay.start();
      await consumer.start();
      try {
        await waitFor('the batch handled', () => consumer.stats().handled === 10);
      } finally {
        await consumer.stop();
        await relay.stop();
        await transport.close();
      }
      assert.ok(batches.length < 10, `several events a batch: ${batches.join(', ')}`);
      const xids = await admin.query<{ xid: string }>(
        `SELECT DISTINCT xmin::text AS xid FROM "${schema}".effects WHERE event_id = ANY($1)`,
        [events.map((e) => e.id)],
      );
      assert.equal(xids.rows.length, batches.length, 'one transaction per batch');
    });

    for (const pipeline of fixture.pipeline ? [false, true] : [false]) {
      it(`a consumer on the client: handler writes through its tx, three deliveries one effect, emit() reaches the broker${pipeline ? ' (group commit with pipeline)' : ''}`, async () => {
        // Only this run's messages: a new group reads the topic from its start.
        await admin.query(`DELETE FROM "${schema}".broker_messages`);
        const transport = postgres({ db: admin, schema, pollIntervalMs: 20 });
        const relay = createRelay({ db: admin, schema, transport, logger: silentLogger, pollIntervalMs: 20 });
        const group = uniqueName('g');
        const consumer = createConsumer({
          transport,
          group,
          db: client.db,
          schema,
          topics: ['orders'],
          lagIntervalMs: 0,
          retry: { attempts: 1, initialMs: 0 },
          deadLetterTopic: false,
          logger: process.env.DEBUG_SUITE ? createLogger({ level: 'debug' }) : silentLogger,
          groupCommit: { pipeline },
        });
        consumer.on(OrderPlaced, async (event, { tx, emit }) => {
          await client.insertEffect(tx, event.id, 'handled');
          await emit(PaymentRequested({ orderId: event.payload.orderId }));
          // The handler's transaction is ambient: outbox.add without tx writes in it.
          await outbox().add(PaymentRequested({ orderId: `${event.payload.orderId}-ambient` }));
        });
        consumer.on(OrderRejected, async (event, { tx }) => {
          await client.insertEffect(tx, event.id, 'doomed');
          throw new NonRetriableError('rejected for good');
        });
        const placed = OrderPlaced({ orderId: uniqueName('o'), total: 7 }, { correlationId: 'checkout-1' });
        const rejected = OrderRejected({ orderId: uniqueName('o') });
        await client.transaction((tx) => outbox().add(tx as never, [placed, rejected]));
        await relay.start();
        await consumer.start();
        try {
          await waitFor('the placed order handled', async () => (await effects(placed.id)).length === 1);
          await waitFor('the rejected order dead-lettered', () => consumer.stats().deadLettered === 1);
          // The same message twice more (a relay that crashed after the ack, a replay).
          await admin.query(
            `INSERT INTO "${schema}".broker_messages (topic, partition, id, key, value, headers)
           SELECT topic, partition, id, key, value, headers FROM "${schema}".broker_messages, generate_series(1, 2)
           WHERE id = $1`,
            [placed.id],
          );
          await waitFor('both copies skipped', () => consumer.stats().duplicates === 2);
          await waitFor('the emitted event published', async () => {
            const r = await admin.query(
              `SELECT 1 FROM "${schema}".broker_messages WHERE topic = 'payments' AND headers->>'ce_causationid' = $1`,
              [placed.id],
            );
            return r.rows.length === 1;
          });
        } finally {
          await consumer.stop();
          await relay.stop();
          await transport.close();
        }
        assert.equal((await effects(placed.id)).length, 1, 'three deliveries, one effect');
        const emitted = await admin.query<{ headers: Record<string, string> }>(
          `SELECT headers FROM "${schema}".broker_messages WHERE topic = 'payments' AND headers->>'ce_causationid' = $1`,
          [placed.id],
        );
        assert.equal(emitted.rows[0]?.headers.ce_correlationid, 'checkout-1');
        assert.equal(emitted.rows[0]?.headers.ce_type, 'shop.payment.requested');
        // Both rows' xmin: the handler and the ambient add wrote in the same transaction (or the same
        // savepoint, when its group ran again with savepoints; the log's xid column holds the top level's).
        const ambient = await admin.query<{ xid: string }>(
          `SELECT xmin::text AS xid FROM "${schema}".log WHERE partition_key = $1`,
          [`${placed.payload.orderId}-ambient`],
        );
        assert.equal(ambient.rows.length, 1, 'the ambient add committed once, with the handler');
        assert.equal((await effects(placed.id))[0]?.xid, ambient.rows[0]?.xid);
        // The throwing handler's write and its inbox row were rolled back together.
        assert.equal((await effects(rejected.id)).length, 0);
        const inbox = await admin.query(`SELECT event_id FROM "${schema}".inbox WHERE consumer_group = $1`, [group]);
        const claimed = inbox.rows.map((r) => r.event_id);
        assert.ok(claimed.includes(placed.id));
        assert.ok(!claimed.includes(rejected.id), 'no inbox row for the rolled-back handler');
        const dead = await admin.query(
          `SELECT message_id FROM "${schema}".consumer_dead_letters WHERE consumer_group = $1`,
          [group],
        );
        assert.deepEqual(
          dead.rows.map((r) => r.message_id),
          [rejected.id],
        );
      });
    }

    if (!fixture.pipeline) {
      it('refuses group commit with pipeline: its transactions are not made for statements side by side', () => {
        assert.throws(
          () =>
            createConsumer({
              transport: postgres({ db: admin, schema }),
              group: uniqueName('g'),
              db: client.db,
              schema,
              groupCommit: { pipeline: true },
            }),
          (e: unknown) => isHeraldError(e, 'HERALD_INVALID_CONFIG') && e.details.setting === 'groupCommit.pipeline',
        );
      });
    }
  });
}
