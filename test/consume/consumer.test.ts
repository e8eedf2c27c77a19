import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  createConsumer,
  createConsumerDeadLetters,
  createOutbox,
  defineEvent,
  NonRetriableError,
  silentLogger,
} from '../../src/index.ts';
import { consumerFixture, eventMessage } from '../support/consumer.ts';
import { inTransaction, uniqueName } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';
import { startRelayFixture } from '../support/relay-fixture.ts';
import { waitFor } from '../support/relay-process.ts';

const Reserved = (topic: string) =>
  defineEvent({
    type: 'inventory.stock.reserved',
    version: 1,
    destination: topic,
    schema: z.object({ sku: z.string(), quantity: z.number().int().positive() }),
    key: (p) => p.sku,
  });

describe('consumers: exactly once in effect', () => {
  const fixture = consumerFixture();
  const { transport } = fixture;
  /** A consumer of a new group that records one effect per event it handles. */
  const recording = (Def: ReturnType<typeof Reserved>) => {
    const consumer = createConsumer({
      transport,
      group: uniqueName('g'),
      db: fixture.db.pool,
      schema: fixture.db.schema,
    });
    consumer.on(Def, async (event, { tx }) => {
      await tx.query(`INSERT INTO ${fixture.effects} (event_id, key, payload) VALUES ($1, $2, $3)`, [
        event.id,
        event.key,
        JSON.stringify(event.payload),
      ]);
    });
    return consumer;
  };

  it('runs the handler once for an event delivered three times', async () => {
    const topic = await createTopic(3);
    const Def = Reserved(topic);
    const once = eventMessage(topic, Def.type, { sku: 'A', quantity: 1 }, { key: 'A' });
    const other = eventMessage(topic, Def.type, { sku: 'B', quantity: 2 }, { key: 'B' });
    await transport.publish([once, other, once, once]);
    const consumer = recording(Def);
    await consumer.start();
    try {
      await waitFor('four deliveries', () => consumer.stats().handled + consumer.stats().duplicates === 4, 30_000);
    } finally {
      await consumer.stop();
    }
    const rows = await fixture.db.pool.query(`SELECT event_id FROM ${fixture.effects} WHERE event_id = ANY($1)`, [
      [once.id, other.id],
    ]);
    assert.equal(rows.rowCount, 2);
    assert.equal(consumer.stats().duplicates, 2);
    assert.equal(consumer.stats().handled, 2);
  });

  it('starts before its topic exists, and handles what is published to it afterwards', async () => {
    // A service whose consumer starts before any producer wrote: the topic is created on subscribe.
    const topic = `late-${uniqueName('t')}`;
    const Def = Reserved(topic);
    const consumer = recording(Def);
    await consumer.start();
    try {
      // Long enough for the member to have joined the group (and, before the fix, to have failed).
      await new Promise((r) => setTimeout(r, 3000));
      const message = eventMessage(topic, Def.type, { sku: 'L', quantity: 1 }, { key: 'L' });
      await transport.publish([message]);
      await waitFor("the late topic's event", () => consumer.stats().handled === 1, 30_000);
      assert.equal(consumer.stats().lastError, null);
    } finally {
      await consumer.stop();
    }
  });

  it('passes correlation, causation, user, session and trace context to the events a handler emits', async () => {
    const fixture = await startRelayFixture(3);
    try {
      const { topic } = fixture;
      const Placed = defineEvent({
        type: 'order.created',
        version: 1,
        destination: topic,
        schema: z.object({ orderId: z.string() }),
        key: (p) => p.orderId,
      });
      const Ack = defineEvent({
        type: 'order.acknowledged',
        version: 1,
        destination: `${topic}.acks`,
        schema: z.object({ orderId: z.string() }),
        key: (p) => p.orderId,
      });
      const outbox = createOutbox({ schema: fixture.db.schema, source: '/orders' });
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const placed = Placed(
        { orderId: 'o-1' },
        { correlationId: 'corr-1', traceparent, userId: 'user-7', sessionId: 'sess-3', tags: ['vip', 'eu'] },
      );
      await inTransaction(fixture.db.pool, (tx) => outbox.add(tx, placed));
      const consumer = createConsumer({
        transport,
        group: uniqueName('g'),
        db: fixture.db.pool,
        schema: fixture.db.schema,
        logger: silentLogger,
      });
      consumer.on(Placed, async (event, { emit }) => {
        assert.equal(event.traceparent, traceparent);
        assert.equal(event.correlationId, 'corr-1');
        assert.equal(event.userId, 'user-7');
        assert.equal(event.sessionId, 'sess-3');
        assert.deepEqual(event.tags, ['vip', 'eu']);
        await emit(Ack({ orderId: event.payload.orderId }));
      });
      await consumer.start();
      try {
        await waitFor('the handler', () => consumer.stats().handled === 1, 30_000);
      } finally {
        await consumer.stop();
      }
      const [ack] = await readTopic(`${topic}.acks`, 1);
      assert.ok(ack);
      assert.equal(ack.headers.ce_type, 'order.acknowledged');
      assert.equal(ack.headers.ce_causationid, placed.id);
      assert.equal(ack.headers.ce_correlationid, 'corr-1');
      assert.equal(ack.headers.ce_traceparent, traceparent);
      assert.equal(ack.headers.ce_userid, 'user-7', 'emit() keeps the user');
      assert.equal(ack.headers.ce_sessionid, 'sess-3', 'and the session');
      assert.equal(ack.headers.ce_tags, undefined, 'tags belong to the event that names them');
    } finally {
      await fixture.close();
    }
  });

  it('dead-letters a poison message after its retries, keeps going, and re-delivers it once fixed', async () => {
    const topic = await createTopic(1);
    const Def = Reserved(topic);
    const poison = eventMessage(topic, Def.type, { sku: 'P', quantity: 1 }, { key: 'P' });
    const fine = eventMessage(topic, Def.type, { sku: 'F', quantity: 1 }, { key: 'F' });
    const refused = eventMessage(topic, Def.type, { sku: 'R', quantity: 1 }, { key: 'R' });
    await transport.publish([poison, fine, refused]);
    const group = uniqueName('g');
    let broken = true;
    const attempts = new Map<string, number>();
    const consumer = createConsumer({
      transport,
      group,
      db: fixture.db.pool,
      schema: fixture.db.schema,
      retry: { attempts: 3, initialMs: 10, maxMs: 50 },
      redeliveryPollMs: 200,
    });
    consumer.on(Def, async (event, { tx }) => {
      attempts.set(event.id, (attempts.get(event.id) ?? 0) + 1);
      if (event.payload.sku === 'R') throw new NonRetriableError('sku R is not sold here');
      if (event.payload.sku === 'P' && broken) throw new Error('warehouse table locked');
      await tx.query(`INSERT INTO ${fixture.effects} (event_id, key) VALUES ($1, $2)`, [event.id, event.key]);
    });
    await consumer.start();
    try {
      await waitFor(
        'dead letters',
        () => consumer.stats().deadLettered === 2 && consumer.stats().handled === 1,
        30_000,
      );
      assert.equal(attempts.get(poison.id), 3);
      assert.equal(attempts.get(refused.id), 1);
      const dlq = await readTopic(`${topic}.dlq`, 2);
      const byId = new Map(dlq.map((m) => [m.headers.ce_id, m]));
      const p = byId.get(poison.id);
      assert.ok(p, 'the poison message is on the dead-letter topic');
      assert.equal(p.value, poison.value.toString());
      assert.equal(p.headers.herald_attempts, '3');
      assert.equal(p.headers.herald_consumer_group, group);
      assert.equal(p.headers.herald_original_topic, topic);
      assert.match(p.headers.herald_error_message ?? '', /warehouse table locked/);
      assert.match(byId.get(refused.id)?.headers.herald_error_message ?? '', /NonRetriableError: sku R/);

      const letters = createConsumerDeadLetters({ db: fixture.db.pool, schema: fixture.db.schema });
      const pending = await letters.list({ groups: [group] });
      assert.deepEqual(pending.map((l) => l.id).sort(), [poison.id, refused.id].sort());
      broken = false;
      assert.equal(await letters.retry({ groups: [group], ids: [poison.id] }), 1);
      await waitFor('the retry', async () => (await letters.list({ groups: [group], status: 'retried' })).length === 1);
      await letters.close();
      assert.equal(await letters.discard({ groups: [group], ids: [refused.id] }), 1);
    } finally {
      await consumer.stop();
    }
    const rows = await fixture.db.pool.query(`SELECT event_id FROM ${fixture.effects} WHERE event_id = ANY($1)`, [
      [poison.id, fine.id, refused.id],
    ]);
    assert.deepEqual(rows.rows.map((r) => r.event_id).sort(), [poison.id, fine.id].sort());
  });

  it('stop() lets running handlers finish and commits their offsets before leaving the group', async () => {
    const topic = await createTopic(1);
    const Def = Reserved(topic);
    const messages = Array.from({ length: 20 }, (_, i) =>
      eventMessage(topic, Def.type, { sku: `S${i}`, quantity: 1 }, { key: `S${i}` }),
    );
    await transport.publish(messages);
    const group = uniqueName('g');
    const handler = async (event: { id: string; key: string }, tx: { query: typeof fixture.db.pool.query }) => {
      await new Promise((r) => setTimeout(r, 300));
      await tx.query(`INSERT INTO ${fixture.effects} (event_id, key) VALUES ($1, $2)`, [event.id, event.key]);
    };
    const first = createConsumer({ transport, group, db: fixture.db.pool, schema: fixture.db.schema, concurrency: 4 });
    let started = 0;
    first.on(Def, async (event, { tx }) => {
      started++;
      await handler(event, tx as never);
    });
    await first.start();
    await waitFor('handlers running', () => started >= 4, 30_000);
    await first.stop();
    const handledByFirst = first.stats().handled;
    assert.ok(handledByFirst >= 4 && handledByFirst < 20, `the first consumer handled ${handledByFirst}`);
    assert.equal(handledByFirst, started, 'every handler that started finished and committed');

    const second = createConsumer({ transport, group, db: fixture.db.pool, schema: fixture.db.schema, concurrency: 4 });
    second.on(Def, async (event, { tx }) => handler(event, tx as never));
    await second.start();
    try {
      await waitFor('the rest', () => second.stats().handled + handledByFirst === 20, 30_000);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await second.stop();
    }
    assert.equal(second.stats().duplicates, 0, 'offsets of finished work were committed at stop');
    const rows = await fixture.db.pool.query(
      `SELECT count(*)::int AS n FROM ${fixture.effects} WHERE event_id = ANY($1)`,
      [messages.map((m) => m.id)],
    );
    assert.equal(rows.rows[0].n, 20);
  });
});
