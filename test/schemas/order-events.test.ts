import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  checkDefinitions,
  createConsumer,
  createConsumerDeadLetters,
  createOutbox,
  createPostgresRegistry,
  createRelay,
  defineEvent,
  formatIssues,
  isHeraldError,
  pushDefinitions,
  type SchemaRegistry,
  silentLogger,
} from 'herald';
import { postgres } from 'herald/postgres';
import { z } from 'zod';
import {
  OrderPlacedForBilling,
  OrderPlacedV1,
  OrderPlacedV2,
  OrderPlacedV3,
} from '../../examples/schemas/order-events.ts';
import { pushContracts } from '../../examples/schemas/push.ts';
import { databaseUrl, freshSchema, inTransaction, type TestSchema } from '../support/env.ts';
import { waitFor } from '../support/relay-process.ts';

/**
 * docs/schemas.md's JSON Schema example (examples/schemas/order-events.ts): the registry checks
 * each step under FORWARD, and the v1 billing consumer, deployed first, takes v2 as it is and v3
 * through its downcaster, on PostgreSQL as the broker; a v4 it cannot read is dead-lettered.
 * Imported by the package's name ('herald' -> dist/), as the example and its users do.
 */
describe('order events: JSON Schema contracts and a consumer deployed before its producer', () => {
  let db: TestSchema;
  let registry: SchemaRegistry;
  before(async () => {
    db = await freshSchema();
    registry = createPostgresRegistry({ db: db.pool, schema: db.schema });
  });
  after(async () => {
    await registry.close?.();
    await db.drop();
  });

  it('under FORWARD, v2 (a field added) is registered; v3 (amount moved into price) is refused, naming the fields, until the mode is NONE for that push', async () => {
    // The consumer's own v1 definition may sit in the same modules: one type and version, one schema.
    const first = await pushDefinitions(registry, [OrderPlacedV1, OrderPlacedForBilling], 'FORWARD');
    assert.deepEqual(
      first.map((r) => [r.subject, r.format, r.mode, r.versions.map((v) => `v${v.version} ${v.state}`)]),
      [['shop.order.placed', 'JSON', 'FORWARD', ['v1 new']]],
    );
    const second = await pushDefinitions(registry, [OrderPlacedV1, OrderPlacedV2], 'BACKWARD');
    // The subject keeps the mode it was registered with: the default applies to new subjects only.
    assert.deepEqual(
      second.map((r) => [r.mode, r.compatible, r.versions.map((v) => `v${v.version} ${v.state}`)]),
      [['FORWARD', true, ['v1 registered', 'v2 new']]],
    );
    const third = await checkDefinitions(registry, [OrderPlacedV1, OrderPlacedV2, OrderPlacedV3], 'FORWARD');
    assert.equal(third[0]?.compatible, false);
    assert.deepEqual(formatIssues(third[0]?.issues ?? []), [
      "amount: REQUIRED_PROPERTY_REMOVED (v2's consumers cannot read the new schema's events): required by the reader, with no default, and unknown to the writer",
      "currency: REQUIRED_PROPERTY_REMOVED (v2's consumers cannot read the new schema's events): required by the reader, with no default, and unknown to the writer",
    ]);
    // The deploy step of examples/schemas/push.ts stops on it, with the report.
    const where = { db: db.pool, schema: db.schema };
    const lines: string[] = [];
    const all = [OrderPlacedV1, OrderPlacedV2, OrderPlacedV3];
    assert.equal(await pushContracts(all, { ...where, log: (l) => lines.push(l) }), false);
    assert.match(lines.join('\n'), /^shop\.order\.placed \(FORWARD\):\n {2}amount: REQUIRED_PROPERTY_REMOVED/);
    assert.deepEqual(
      (await registry.versions('shop.order.placed')).map((r) => r.version),
      [1, 2],
    );
    // Shipping v3 anyway is a decision: the mode is NONE for that push, then FORWARD again.
    await registry.setCompatibility('shop.order.placed', 'NONE');
    assert.equal(await pushContracts(all, where), true);
    await registry.setCompatibility('shop.order.placed', 'FORWARD');
    assert.deepEqual(
      (await registry.versions('shop.order.placed')).map((r) => r.version),
      [1, 2, 3],
    );
    // A version defined twice with two schemas is a mistake in the code, not a registry question.
    await assert.rejects(
      checkDefinitions(registry, [OrderPlacedV1, { ...OrderPlacedV2, version: 1 }], 'FORWARD'),
      (e) => isHeraldError(e, 'HERALD_INVALID_DEFINITION') && /v1 is defined twice/.test(e.message),
    );
  });

  it('the v1 consumer takes v2 as it is and v3 through its downcaster; a v4 it cannot read is dead-lettered', async () => {
    const transport = postgres({ db: databaseUrl, schema: db.schema, pollIntervalMs: 50 });
    const relay = createRelay({ db: db.pool, schema: db.schema, transport, logger: silentLogger });
    const consumer = createConsumer({
      transport,
      group: 'billing',
      db: db.pool,
      schema: db.schema,
      logger: silentLogger,
    });
    const billed: { writtenVersion: number; payload: unknown }[] = [];
    consumer.on(OrderPlacedForBilling, (event) => {
      billed.push({ writtenVersion: event.writtenVersion, payload: event.payload });
    });
    // A v4 the billing team has no downcaster for: the price's currency becomes an ISO code object.
    const OrderPlacedV4 = defineEvent({
      type: 'shop.order.placed',
      version: 4,
      schema: z.object({ orderId: z.string(), total: z.object({ minor: z.number().int(), iso: z.string() }) }),
      key: (p) => p.orderId,
    });
    const v4 = OrderPlacedV4({ orderId: 'o-4', total: { minor: 1250, iso: 'EUR' } });
    await inTransaction(db.pool, (tx) =>
      createOutbox({ schema: db.schema }).add(tx, [
        OrderPlacedV1({ orderId: 'o-1', amount: 10, currency: 'EUR' }),
        OrderPlacedV2({ orderId: 'o-2', amount: 20, currency: 'EUR', channel: 'web' }),
        OrderPlacedV3({ orderId: 'o-3', channel: 'shop', price: { amount: 30, currency: 'USD' } }),
        v4,
      ]),
    );
    await relay.start();
    await consumer.start();
    try {
      await waitFor(
        'billing to settle the four orders',
        () => consumer.stats().handled + consumer.stats().deadLettered === 4,
        30_000,
      );
    } finally {
      await consumer.stop();
      await relay.stop();
      await transport.close?.();
    }
    const byOrder = billed.sort((a, b) =>
      String((a.payload as { orderId: string }).orderId).localeCompare((b.payload as { orderId: string }).orderId),
    );
    assert.deepEqual(byOrder, [
      { writtenVersion: 1, payload: { orderId: 'o-1', amount: 10, currency: 'EUR' } },
      // channel is not v1's: stripped by v1's schema.
      { writtenVersion: 2, payload: { orderId: 'o-2', amount: 20, currency: 'EUR' } },
      { writtenVersion: 3, payload: { orderId: 'o-3', amount: 30, currency: 'USD' } },
    ]);
    const letters = createConsumerDeadLetters({ db: db.pool, schema: db.schema });
    try {
      const dead = await letters.list({ groups: ['billing'] });
      assert.deepEqual(
        dead.map((d) => [d.id, d.error?.code]),
        [[v4.id, 'HERALD_INCOMPATIBLE_VERSION']],
      );
      assert.match(dead[0]?.error?.message ?? '', /shop\.order\.placed v4 is not compatible with the handler's v1/);
    } finally {
      await letters.close();
    }
  });
});
