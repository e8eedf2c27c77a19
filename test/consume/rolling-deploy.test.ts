import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import {
  type Consumer,
  createConsumer,
  createConsumerDeadLetters,
  createOutbox,
  createRelay,
  defineEvent,
  type OutboxEvent,
  type Relay,
  silentLogger,
} from '../../src/index.ts';
import type { Queryable } from '../../src/store/db.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import type { ConsumedEvent } from '../../src/wire/incoming.ts';
import { createEffects } from '../support/consumer.ts';
import { brokers, freshSchema, inTransaction, type TestSchema, uniqueName } from '../support/env.ts';
import { createTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

/**
 * A rolling deploy on PostgreSQL and Kafka: the producer is upgraded to v3 while the consumers
 * still run v2, then the consumers are upgraded. Version 3 adds a field, so the v2 consumer,
 * declared `accepts: 'newer-compatible'`, takes v3 events (the field stripped by its schema).
 */
describe('consumers during a rolling deploy', () => {
  let db: TestSchema;
  let effects: string;
  let relay: Relay;
  const transport = kafka({ brokers });
  const outbox = () => createOutbox({ schema: db.schema });
  before(async () => {
    db = await freshSchema();
    effects = await createEffects(db.pool, db.schema);
    relay = createRelay({ db: db.pool, schema: db.schema, transport: kafka({ brokers }), logger: silentLogger });
    await relay.start();
  });
  after(async () => {
    await relay.stop();
    await transport.close();
    await db.drop();
  });

  const consumerFor = (group: string, on: (c: Consumer) => void): Consumer => {
    const consumer = createConsumer({
      transport,
      group,
      db: db.pool,
      schema: db.schema,
      deadLetterTopic: false,
      logger: silentLogger,
    });
    on(consumer);
    return consumer;
  };
  const write = (events: readonly OutboxEvent[]) => inTransaction(db.pool, (tx) => outbox().add(tx, events));
  const effectRows = async () =>
    (
      await db.pool.query<{ event_id: string; seq: number; payload: Record<string, unknown> }>(
        `SELECT event_id, seq, payload FROM ${effects} ORDER BY n`,
      )
    ).rows;

  it('v3 events reach a v2 consumer, then the upgraded consumer: nothing dead-lettered, lost or handled twice', async () => {
    const topic = await createTopic(3);
    const type = uniqueName('shop.order.placed');
    const v2Schema = z.object({ orderId: z.string(), amount: z.number(), currency: z.string() });
    // The v2 consumer's definition, deployed first.
    const PlacedV2 = defineEvent({
      type,
      version: 2,
      destination: topic,
      schema: v2Schema,
      key: (p) => p.orderId,
      accepts: 'newer-compatible',
    });
    // v3 adds the sales channel: FORWARD compatible (a v2 reader ignores it).
    const v3Schema = v2Schema.extend({ channel: z.enum(['web', 'shop']) });
    const PlacedV3 = defineEvent({
      type,
      version: 3,
      destination: topic,
      schema: v3Schema,
      key: (p) => p.orderId,
      upcasters: { 2: (v2: z.infer<typeof v2Schema>) => ({ ...v2, channel: 'shop' }) },
      accepts: 'newer-compatible',
    });
    const group = uniqueName('billing');
    const record = (version: number, event: ConsumedEvent, tx: Queryable) =>
      tx.query(`INSERT INTO ${effects} (event_id, key, seq, payload) VALUES ($1, $2, $3, $4)`, [
        event.id,
        `v${event.writtenVersion}->v${version}`,
        event.version,
        JSON.stringify(event.payload),
      ]);

    let n = 0;
    const ids: string[] = [];
    const v2Batch = async (count: number) => {
      const events = Array.from({ length: count }, () => PlacedV2({ orderId: `o-${++n}`, amount: n, currency: 'EUR' }));
      ids.push(...events.map((e) => e.id));
      await write(events);
    };
    const v3Batch = async (count: number) => {
      const events = Array.from({ length: count }, () =>
        PlacedV3({ orderId: `o-${++n}`, amount: n, currency: 'EUR', channel: 'web' }),
      );
      ids.push(...events.map((e) => e.id));
      await write(events);
    };

    // 1. Everything runs v2.
    const old = consumerFor(group, (c) => c.on(PlacedV2, (e, { tx }) => record(2, e, tx).then(() => {})));
    await old.start();
    await v2Batch(20);
    // 2. The producer is upgraded (one instance at a time: both versions are written for a while).
    await v3Batch(10);
    await v2Batch(5);
    await v3Batch(15);
    await waitFor('the v2 consumer to handle 50', async () => (await effectRows()).length === 50, 60_000);
    await old.stop();
    // 3. The consumer is upgraded; the producer's last v2 instance is still draining.
    const upgraded = consumerFor(group, (c) => c.on(PlacedV3, (e, { tx }) => record(3, e, tx).then(() => {})));
    await upgraded.start();
    try {
      await v3Batch(20);
      await v2Batch(5);
      await waitFor('the v3 consumer to handle 25', async () => (await effectRows()).length === 75, 60_000);
    } finally {
      await upgraded.stop();
    }

    const rows = await effectRows();
    assert.deepEqual(rows.map((r) => r.event_id).sort(), [...ids].sort(), 'each event handled once');
    const byRoute = new Map<string, number>();
    for (const r of await db.pool.query<{ key: string }>(`SELECT key FROM ${effects}`).then((q) => q.rows)) {
      byRoute.set(r.key, (byRoute.get(r.key) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(byRoute), {
      'v2->v2': 25,
      'v3->v2': 25,
      'v3->v3': 20,
      'v2->v3': 5,
    });
    // The v2 handler saw v3 payloads as v2: the field it does not know was stripped by its schema.
    const v3SeenByV2 = rows.filter((r) => r.seq === 2).map((r) => r.payload);
    assert.ok(v3SeenByV2.every((p) => !('channel' in p)));
    const letters = createConsumerDeadLetters({ db: db.pool, schema: db.schema });
    try {
      assert.deepEqual(await letters.list({ groups: [group] }), []);
    } finally {
      await letters.close();
    }
    assert.equal(old.stats().deadLettered + upgraded.stats().deadLettered, 0);
  });

  it('an incompatible v3 is dead-lettered by the v2 consumer with both versions in the reason; downcasters bridge one', async () => {
    const topic = await createTopic(1);
    const type = uniqueName('shop.payment.taken');
    const PaymentV2 = defineEvent({
      type,
      version: 2,
      destination: topic,
      schema: z.object({ paymentId: z.string(), amount: z.number() }),
      key: (p) => p.paymentId,
      accepts: 'newer-compatible',
    });
    // v3 renames `amount` to `cents`: a v2 reader cannot read it.
    const PaymentV3 = defineEvent({
      type,
      version: 3,
      destination: topic,
      schema: z.object({ paymentId: z.string(), cents: z.number().int() }),
      key: (p) => p.paymentId,
    });
    // A second group whose v2 definition carries a downcaster from v3 takes the same events.
    const PaymentV2Bridged = defineEvent({
      type,
      version: 2,
      destination: topic,
      schema: z.object({ paymentId: z.string(), amount: z.number() }),
      key: (p) => p.paymentId,
      downcasters: {
        3: (v3: { paymentId: string; cents: number }) => ({ paymentId: v3.paymentId, amount: v3.cents / 100 }),
      },
    });
    const compatible = PaymentV2({ paymentId: 'p-1', amount: 12.5 });
    const incompatible = PaymentV3({ paymentId: 'p-2', cents: 1250 });
    await write([compatible, incompatible]);

    const strict = uniqueName('ledger');
    const bridged = uniqueName('reports');
    const amounts: Record<string, number[]> = { [strict]: [], [bridged]: [] };
    const a = consumerFor(strict, (c) => c.on(PaymentV2, (e) => void amounts[strict]?.push(e.payload.amount)));
    const b = consumerFor(bridged, (c) => c.on(PaymentV2Bridged, (e) => void amounts[bridged]?.push(e.payload.amount)));
    await a.start();
    await b.start();
    try {
      await waitFor(
        'both groups to settle both events',
        () => a.stats().handled + a.stats().deadLettered === 2 && b.stats().handled === 2,
        60_000,
      );
    } finally {
      await a.stop();
      await b.stop();
    }
    assert.deepEqual(amounts[strict], [12.5]);
    assert.deepEqual(amounts[bridged], [12.5, 12.5]);
    const letters = createConsumerDeadLetters({ db: db.pool, schema: db.schema });
    try {
      const dead = await letters.list({ groups: [strict, bridged] });
      assert.equal(dead.length, 1);
      assert.equal(dead[0]?.id, incompatible.id);
      assert.equal(dead[0]?.error?.code, 'HERALD_INCOMPATIBLE_VERSION');
      assert.match(dead[0]?.error?.message ?? '', /v3 is not compatible with the handler's v2: amount/);
    } finally {
      await letters.close();
    }
  });
});
