import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { createConsumer, defineEvent } from '../../src/index.ts';
import { readLag } from '../../src/store/sql/consumer-lag.ts';
import { assertEffectsInKeyOrder, consumerFixture, eventMessage } from '../support/consumer.ts';
import { uniqueName } from '../support/env.ts';
import { createTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

describe('consumers: batches and lag', () => {
  const fixture = consumerFixture();
  const { transport } = fixture;

  it('handles batches once each, takes a failing batch apart, and reports lag', async () => {
    const topic = await createTopic(2);
    const Moved = defineEvent({
      type: 'inventory.stock.movement_recorded',
      version: 1,
      destination: topic,
      schema: z.object({ sku: z.string(), seq: z.number().int() }),
      key: (p) => p.sku,
    });
    const messages = Array.from({ length: 300 }, (_, i) =>
      eventMessage(topic, Moved.type, { sku: `sku-${i % 30}`, seq: Math.floor(i / 30) }, { key: `sku-${i % 30}` }),
    );
    const poison = messages[151]?.id as string; // delivered once (151 % 3 !== 0)
    // A third of the events arrive twice.
    await transport.publish([...messages, ...messages.filter((_, i) => i % 3 === 0)]);
    const group = uniqueName('g');
    const batchSizes: number[] = [];
    const consumer = createConsumer({
      transport,
      group,
      db: fixture.db.pool,
      schema: fixture.db.schema,
      retry: { attempts: 2, initialMs: 10, maxMs: 20 },
      deadLetterTopic: false,
      lagIntervalMs: 200,
    });
    consumer.onBatch(
      Moved,
      async (events, { tx }) => {
        if (events.some((e) => e.id === poison)) throw new Error('movement 151 refers to a missing warehouse');
        batchSizes.push(events.length);
        await tx.query(
          `INSERT INTO ${fixture.effects} (event_id, key, seq) SELECT * FROM unnest($1::text[], $2::text[], $3::int[])`,
          [events.map((e) => e.id), events.map((e) => e.payload.sku), events.map((e) => e.payload.seq)],
        );
      },
      { size: 50, maxWaitMs: 20 },
    );
    await consumer.start();
    try {
      await waitFor(
        'every delivery',
        () => {
          const s = consumer.stats();
          return s.handled + s.duplicates + s.deadLettered === 400;
        },
        60_000,
      );
      await waitFor('lag 0', async () => (await consumer.lag()).every((l) => l.lag === 0), 20_000);
      await waitFor(
        'stored lag',
        async () => {
          const stored = (await readLag(fixture.db.pool, fixture.db.schema)).filter((l) => l.group === group);
          return stored.length === 2 && stored.every((l) => l.lag === 0);
        },
        20_000,
      );
    } finally {
      await consumer.stop();
    }
    assert.equal(consumer.stats().deadLettered, 1);
    assert.ok(
      batchSizes.some((n) => n > 1),
      `batches of ${batchSizes.join(', ')}`,
    );
    const rows = await fixture.db.pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS d FROM ${fixture.effects}`,
    );
    assert.deepEqual(rows.rows[0], { n: 299, d: 299 });
    await assertEffectsInKeyOrder(fixture);
  });
});
