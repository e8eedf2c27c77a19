import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { z } from 'zod';
import { createConsumer, defineEvent } from '../../src/index.ts';
import { consumerFixture, eventMessage } from '../support/consumer.ts';
import { databaseUrl, uniqueName } from '../support/env.ts';
import { createTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

describe('consumers: order per key, concurrency across keys', () => {
  const fixture = consumerFixture();
  const { transport } = fixture;

  for (const pipeline of [false, true]) {
    it(`keeps each of 1,000 keys in order with concurrency 16, and a failing key holds up only itself${pipeline ? ' (group commit with pipeline)' : ''}`, async () => {
      await fixture.db.pool.query(`TRUNCATE ${fixture.effects}`);
      const topic = await createTopic(6);
      const Step = defineEvent({
        type: 'order.step',
        version: 1,
        destination: topic,
        schema: z.object({ key: z.string(), seq: z.number().int() }),
        key: (p) => p.key,
      });
      const keys = Array.from({ length: 1000 }, (_, i) => `key-${i}`);
      const perKey = 5;
      const messages = [];
      for (let seq = 0; seq < perKey; seq++) {
        for (const key of keys) messages.push(eventMessage(topic, Step.type, { key, seq }, { key }));
      }
      await transport.publish(messages);

      const failingKey = 'key-7';
      let failUntil = Number.POSITIVE_INFINITY;
      let running = 0;
      let maxRunning = 0;
      let othersDoneAt = 0;
      let handledOthers = 0;
      const pool = pipeline ? new pg.Pool({ connectionString: databaseUrl, max: 18, pipeline }) : fixture.db.pool;
      const consumer = createConsumer({
        transport,
        group: uniqueName('g'),
        db: pool,
        schema: fixture.db.schema,
        concurrency: 16,
        retry: { attempts: 1000, initialMs: 20, maxMs: 200 },
        groupCommit: { pipeline },
      });
      consumer.on(Step, async (event, { tx }) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        try {
          if (event.payload.key === failingKey && Date.now() < failUntil) throw new Error('key-7 is locked');
          await new Promise((r) => setTimeout(r, Math.random() * 2));
          await tx.query(`INSERT INTO ${fixture.effects} (event_id, key, seq) VALUES ($1, $2, $3)`, [
            event.id,
            event.payload.key,
            event.payload.seq,
          ]);
        } finally {
          running--;
        }
      });
      // The commit of an effect happens after the handler returns: count others by the database.
      const countOthers = async () =>
        Number(
          (await fixture.db.pool.query(`SELECT count(*) AS n FROM ${fixture.effects} WHERE key <> $1`, [failingKey]))
            .rows[0].n,
        );
      await consumer.start();
      try {
        await waitFor(
          'every other key',
          async () => {
            handledOthers = await countOthers();
            return handledOthers === (keys.length - 1) * perKey;
          },
          120_000,
        );
        othersDoneAt = Date.now();
        const failing = await fixture.db.pool.query(`SELECT count(*) AS n FROM ${fixture.effects} WHERE key = $1`, [
          failingKey,
        ]);
        assert.equal(Number(failing.rows[0].n), 0, 'the failing key has handled nothing while it fails');
        failUntil = 0; // the cause is fixed
        await waitFor('the failing key', () => consumer.stats().handled === keys.length * perKey, 60_000);
      } finally {
        await consumer.stop();
        if (pool !== fixture.db.pool) await pool.end();
      }
      assert.ok(othersDoneAt > 0);
      // With pipeline, the handlers of a group (up to 64 events) run side by side too.
      const most = pipeline ? 16 * 64 : 16;
      assert.ok(maxRunning > 1 && maxRunning <= most, `handlers ran ${maxRunning} at once`);
      if (pipeline) assert.ok(maxRunning > 16, `a group's handlers ran side by side: ${maxRunning} at once`);
      const rows = await fixture.db.pool.query<{ key: string; seqs: number[] }>(
        `SELECT key, array_agg(seq ORDER BY n) AS seqs FROM ${fixture.effects} GROUP BY key`,
      );
      assert.equal(rows.rowCount, keys.length);
      const expected = Array.from({ length: perKey }, (_, i) => i);
      for (const r of rows.rows) assert.deepEqual(r.seqs, expected, `order of ${r.key}`);
      assert.ok(consumer.stats().retries > 0);
      assert.equal(consumer.stats().deadLettered, 0);
    });
  }
});
