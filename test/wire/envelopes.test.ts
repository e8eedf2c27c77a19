import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import {
  createConsumer,
  createConsumerDeadLetters,
  createOutbox,
  createRelay,
  defineEvent,
  silentLogger,
} from '../../src/index.ts';
import { withFormat } from '../../src/transports/formatted.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { cloudEventsStructured, envelopeMapper } from '../../src/wire/envelopes.ts';
import { brokers, freshSchema, inTransaction, type TestSchema, uniqueName } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

const StockReserved = defineEvent({
  type: 'inventory.stock.reserved',
  version: 1,
  schema: z.object({ orderId: z.string(), productId: z.string(), quantity: z.number().int() }),
  key: (p) => p.productId,
  aggregate: (p) => ({ type: 'order', id: p.orderId }),
});

// #region seed-envelope
/** The JSON envelope an existing outbox's consumers read (seed 000). */
const seedEnvelope = envelopeMapper({
  name: 'seed-000',
  encode: (e) => ({
    event_id: e.id,
    event_type: e.type,
    aggregate_type: e.aggregate?.type ?? null,
    aggregate_id: e.aggregate?.id ?? null,
    correlation_id: e.correlationId,
    timestamp: e.time?.toISOString() ?? null,
    payload: e.payload,
  }),
  decode: (body) => {
    const b = body as Record<string, unknown>;
    if (typeof b.event_id !== 'string' || typeof b.event_type !== 'string') throw new Error('no event_id/event_type');
    return {
      id: b.event_id,
      type: b.event_type,
      payload: b.payload,
      aggregate: b.aggregate_type ? { type: String(b.aggregate_type), id: String(b.aggregate_id) } : null,
      correlationId: typeof b.correlation_id === 'string' ? b.correlation_id : null,
      time: typeof b.timestamp === 'string' ? new Date(b.timestamp) : null,
    };
  },
});
// #endregion seed-envelope

describe('envelope formats on Kafka: CloudEvents structured and a mapper of your own', () => {
  let db: TestSchema;
  const plain = kafka({ brokers });
  before(async () => {
    db = await freshSchema();
  });
  after(async () => {
    await plain.close();
    await db.drop();
  });

  const write = async (topic: string, n: number, correlationId: string) => {
    const outbox = createOutbox({ schema: db.schema });
    return inTransaction(db.pool, (tx) =>
      outbox.add(
        tx,
        Array.from({ length: n }, (_, i) =>
          StockReserved(
            { orderId: `o-${i}`, productId: `p-${i % 2}`, quantity: i + 1 },
            { destination: topic, correlationId },
          ),
        ),
      ),
    );
  };

  const consume = async (transport: ReturnType<typeof kafka>, topic: string, expected: number) => {
    const group = uniqueName('g');
    const consumer = createConsumer({
      transport,
      group,
      topics: [topic],
      db: db.pool,
      schema: db.schema,
      deadLetterTopic: false,
      logger: silentLogger,
    });
    const seen: { id: string; subject: string | null; correlationId: string | null; quantity: number }[] = [];
    consumer.on(StockReserved, (e) => {
      seen.push({ id: e.id, subject: e.subject, correlationId: e.correlationId, quantity: e.payload.quantity });
    });
    await consumer.start();
    try {
      await waitFor(
        'every message',
        () => consumer.stats().handled + consumer.stats().deadLettered === expected,
        30_000,
      );
    } finally {
      await consumer.stop();
    }
    // Handled in order per key, not across keys.
    seen.sort((a, b) => a.quantity - b.quantity);
    return { seen, group, deadLettered: consumer.stats().deadLettered };
  };

  it('CloudEvents structured mode: one JSON document per message, read back by a Herald consumer', async () => {
    const topic = await createTopic(1);
    const written = await write(topic, 4, 'corr-structured');
    // #region structured
    const transport = withFormat(kafka({ brokers }), cloudEventsStructured());
    const relay = createRelay({ db: db.pool, schema: db.schema, transport, logger: silentLogger });
    // #endregion structured
    assert.equal((await relay.drain()).published, 4);
    const read = await readTopic(topic, 4);
    for (const [i, r] of read.entries()) {
      assert.equal(r.headers['content-type'], 'application/cloudevents+json');
      assert.deepEqual(
        Object.keys(r.headers).filter((h) => h.startsWith('ce_')),
        [],
        'no attribute headers',
      );
      const doc = JSON.parse(r.value);
      assert.equal(doc.specversion, '1.0');
      assert.equal(doc.id, written[i]?.id);
      assert.equal(doc.type, StockReserved.type);
      assert.equal(doc.subject, `order/o-${i}`);
      assert.equal(doc.correlationid, 'corr-structured');
      assert.equal(doc.datacontenttype, 'application/json');
      assert.deepEqual(doc.data, { orderId: `o-${i}`, productId: `p-${i % 2}`, quantity: i + 1 });
    }
    // A consumer reads structured mode as it is: no format needed.
    const { seen } = await consume(kafka({ brokers }), topic, 4);
    assert.deepEqual(
      seen.map((s) => [s.id, s.subject, s.correlationId, s.quantity]),
      written.map((w, i) => [w.id, `order/o-${i}`, 'corr-structured', i + 1]),
    );
  });

  it("seed 000's envelope: published by the relay, read by a plain consumer and by a Herald consumer, old producers' messages too", async () => {
    const topic = await createTopic(1);
    const written = await write(topic, 3, 'corr-seed');
    // #region mapper
    const transport = withFormat(kafka({ brokers }), seedEnvelope);
    await createRelay({ db: db.pool, schema: db.schema, transport, logger: silentLogger }).drain();
    // #endregion mapper
    const read = await readTopic(topic, 3);
    for (const [i, r] of read.entries()) {
      const body = JSON.parse(r.value);
      assert.deepEqual(Object.keys(body), [
        'event_id',
        'event_type',
        'aggregate_type',
        'aggregate_id',
        'correlation_id',
        'timestamp',
        'payload',
      ]);
      assert.equal(body.event_id, written[i]?.id);
      assert.equal(body.event_type, StockReserved.type);
      assert.equal(body.aggregate_type, 'order');
      assert.equal(body.aggregate_id, `o-${i}`);
      assert.equal(body.correlation_id, 'corr-seed');
      assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
      assert.equal(body.payload.quantity, i + 1);
      assert.equal(r.headers.ce_type, undefined, 'the envelope alone carries the attributes');
    }
    // The existing outbox's own messages (no headers at all) and one that is not an envelope.
    const legacy = {
      event_id: 'legacy-1',
      event_type: StockReserved.type,
      aggregate_type: 'order',
      aggregate_id: 'o-legacy',
      correlation_id: 'corr-legacy',
      timestamp: '2026-01-02T03:04:05.000Z',
      payload: { orderId: 'o-legacy', productId: 'p-0', quantity: 9 },
    };
    const message = (id: string, body: unknown) => ({
      id,
      topic,
      key: 'p-0',
      value: Buffer.from(JSON.stringify(body)),
      headers: { 'content-type': 'application/json' },
    });
    await plain.publish([message('legacy-1', legacy), message('junk', { hello: 'world' })]);

    const { seen, group } = await consume(withFormat(kafka({ brokers }), seedEnvelope), topic, 5);
    assert.deepEqual(
      seen.map((s) => [s.id, s.subject, s.correlationId, s.quantity]),
      [
        ...written.map((w, i) => [w.id, `order/o-${i}`, 'corr-seed', i + 1]),
        ['legacy-1', 'order/o-legacy', 'corr-legacy', 9],
      ],
    );
    const letters = createConsumerDeadLetters({ db: db.pool, schema: db.schema });
    const dead = await letters.list({ groups: [group] });
    await letters.close();
    assert.equal(dead.length, 1);
    assert.equal(dead[0]?.error.code, 'HERALD_UNDECODABLE_MESSAGE');
    assert.match(dead[0]?.error.message ?? '', /seed-000 mapper refused it: no event_id\/event_type/);
  });
});
