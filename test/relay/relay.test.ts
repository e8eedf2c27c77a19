import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { createOutbox, defineEvent } from '../../src/index.ts';
import { inTransaction } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';
import { type RelayFixture, startRelayFixture } from '../support/relay-fixture.ts';
import { waitFor } from '../support/relay-process.ts';

describe('events committed in PostgreSQL reach Kafka', () => {
  let fixture: RelayFixture;
  const StockReserved = (topic: string) =>
    defineEvent({
      type: 'inventory.stock.reserved',
      version: 1,
      destination: topic,
      schema: z.object({ reservationId: z.string(), productId: z.string(), quantity: z.number().int().positive() }),
      key: (p) => p.productId,
      aggregate: (p) => ({ type: 'reservation', id: p.reservationId }),
    });

  before(async () => {
    fixture = await startRelayFixture();
  });
  after(() => fixture.close());

  it('publishes committed events with key, CloudEvents headers and body; not rolled-back ones', async () => {
    const { db, topic } = fixture;
    const Reserved = StockReserved(topic);
    const outbox = createOutbox({ schema: db.schema, source: '/inventory' });
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const committed = Reserved(
      { reservationId: 'r-1', productId: 'p-42', quantity: 3 },
      {
        correlationId: 'order-7',
        causationId: 'cmd-1',
        traceparent,
        headers: { tenant: 'acme' },
        time: new Date('2026-11-02T03:04:05.678Z'),
        userId: 'user-42',
        sessionId: 'session-9',
        tags: ['priority', 'eu-west'],
      },
    );
    await inTransaction(db.pool, (tx) => outbox.add(tx, committed));
    await assert.rejects(
      inTransaction(db.pool, async (tx) => {
        await outbox.add(tx, Reserved({ reservationId: 'r-2', productId: 'p-42', quantity: 1 }));
        throw new Error('business rule failed');
      }),
      /business rule failed/,
    );
    const marker = Reserved({ reservationId: 'r-3', productId: 'p-42', quantity: 9 });
    await inTransaction(db.pool, (tx) => outbox.add(tx, marker));

    const messages = await readTopic(topic, 2);
    assert.equal(messages.length, 2);
    const [first, second] = messages;
    assert.ok(first && second);
    assert.deepEqual(JSON.parse(first.value), { reservationId: 'r-1', productId: 'p-42', quantity: 3 });
    assert.equal(first.key, 'p-42');
    assert.equal(first.headers.ce_specversion, '1.0');
    assert.equal(first.headers.ce_id, committed.id);
    assert.equal(first.headers.ce_type, 'inventory.stock.reserved');
    assert.equal(first.headers.ce_source, '/inventory');
    assert.equal(first.headers.ce_subject, 'reservation/r-1');
    assert.equal(first.headers.ce_dataversion, '1');
    assert.equal(first.headers.ce_partitionkey, 'p-42');
    assert.equal(first.headers.ce_correlationid, 'order-7');
    assert.equal(first.headers.ce_causationid, 'cmd-1');
    assert.equal(first.headers.ce_traceparent, traceparent);
    assert.equal(first.headers['content-type'], 'application/json');
    assert.equal(first.headers.tenant, 'acme');
    assert.equal(first.headers.ce_userid, 'user-42');
    assert.equal(first.headers.ce_sessionid, 'session-9');
    assert.equal(first.headers.ce_tags, 'priority,eu-west');
    assert.equal(second.headers.ce_userid, undefined, 'absent when not given');
    assert.ok(!Number.isNaN(Date.parse(first.headers.ce_time ?? '')));
    // Kafka's record timestamp is the event's time (seed 000), not when the relay sent it.
    assert.equal(Date.parse(first.headers.ce_time ?? ''), Date.parse('2026-11-02T03:04:05.678Z'));
    assert.equal(first.timestamp, BigInt(Date.parse('2026-11-02T03:04:05.678Z')));
    // The rolled-back event never appears: the next message is the one committed after it.
    assert.equal(second.headers.ce_id, marker.id);
    assert.equal(first.partition, second.partition, 'one key, one partition');
    assert.ok(second.offset > first.offset);
  });

  it('a transaction larger than a batch arrives whole, in order, once (positions compare as numbers)', async () => {
    const { db, relay } = fixture;
    const topic = await createTopic(1);
    const Step = defineEvent({
      type: 'bulk.step',
      version: 1,
      destination: topic,
      schema: z.object({ n: z.number().int() }),
      key: () => 'one-key',
    });
    const outbox = createOutbox({ schema: db.schema });
    const before = relay.stats().published;
    // 2,500 rows in one transaction: seq crosses 999 -> 1000 and the relay's batch of 1,000.
    await inTransaction(db.pool, (tx) =>
      outbox.add(
        tx,
        Array.from({ length: 2500 }, (_, n) => Step({ n })),
      ),
    );
    await waitFor('the whole transaction', () => relay.stats().published - before >= 2500);
    assert.equal(relay.stats().published - before, 2500, 'no row read twice');
    const messages = await readTopic(topic, 2500, { settleMs: 500 });
    assert.deepEqual(
      messages.map((m) => JSON.parse(m.value).n),
      Array.from({ length: 2500 }, (_, n) => n),
    );
  });

  it('a batch over the broker size limit for one partition is split, not stuck', async () => {
    const { db, relay } = fixture;
    const topic = await createTopic(1);
    const Big = defineEvent({
      type: 'bulk.big',
      version: 1,
      destination: topic,
      schema: z.object({ n: z.number().int(), pad: z.string() }),
      key: (p) => `k${p.n % 7}`,
    });
    const outbox = createOutbox({ schema: db.schema });
    const before = relay.stats().published;
    // 1,000 x 2 KB to one partition: 2 MB, twice Kafka's default message.max.bytes.
    await inTransaction(db.pool, (tx) =>
      outbox.add(
        tx,
        Array.from({ length: 1000 }, (_, n) => Big({ n, pad: 'x'.repeat(2048) })),
      ),
    );
    await waitFor('all of it', () => relay.stats().published - before >= 1000);
    assert.equal(relay.stats().lastError, null);
    const messages = await readTopic(topic, 1000);
    assert.deepEqual(
      messages.map((m) => JSON.parse(m.value).n),
      Array.from({ length: 1000 }, (_, n) => n),
    );
  });
});
