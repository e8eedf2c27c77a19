import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { z } from 'zod';
import { createOutbox, createRelay, defineEvent, migrate, silentLogger, uuidv7 } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, databaseUrl, inTransaction, uniqueName } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';
import { type LegacyEvent, legacyAdd } from '../support/legacy.ts';
import { waitFor } from '../support/relay-process.ts';

const Moved = defineEvent({
  type: 'upgrade.moved',
  version: 1,
  schema: z.object({ n: z.number() }),
  key: (p) => `k${p.n % 7}`,
});

describe('migration 0008 (the lighter log) on an install with events in flight', () => {
  it('keeps every event, in order per key, written before, during and after the upgrade', async () => {
    const schema = uniqueName('herald_upgrade');
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 6 });
    pool.on('error', () => {});
    const legacy = (from: number, count: number, topic: string): LegacyEvent[] =>
      Array.from({ length: count }, (_, i) => ({
        id: uuidv7(),
        type: Moved.type,
        key: `k${(from + i) % 7}`,
        payload: { n: from + i },
        destination: topic,
      }));
    try {
      await migrate(pool, { schema, to: 7 });
      const topic = await createTopic(3);
      // Committed by the old release and not yet published.
      const before = legacy(0, 20, topic);
      await legacyAdd(pool, schema, before);

      // An old writer's transaction still open when the upgrade starts: the migration waits for
      // it, and its event (committed meanwhile) must not be lost.
      const open = await pool.connect();
      const during = legacy(20, 3, topic);
      await open.query('BEGIN');
      await legacyAdd(open, schema, during);
      const upgrading = migrate(pool, { schema });
      await new Promise((r) => setTimeout(r, 200));
      await open.query('COMMIT');
      open.release();
      const result = await upgrading;
      assert.ok(
        result.applied.some((m) => m.id === 8),
        'migration 0008 ran',
      );

      // The new release writes through shard_of, which must agree with the old formula.
      const outbox = createOutbox({ schema });
      const after = await inTransaction(pool, (tx) =>
        outbox.add(
          tx,
          Array.from({ length: 10 }, (_, i) => Moved({ n: 23 + i }, { destination: topic })),
        ),
      );
      const disagree = await pool.query(
        `SELECT count(*)::int AS n FROM "${schema}".log l
WHERE l.shard <> ((hashtextextended(l.partition_key, 0) % 64 + 64) % 64)::int
   OR l.shard <> "${schema}".shard_of(l.partition_key)`,
      );
      assert.equal(disagree.rows[0].n, 0, 'old and new writers put a key in the same shard');
      const triggers = await pool.query(
        `SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal`,
        [`"${schema}".log`],
      );
      assert.equal(triggers.rows[0].n, 0, 'no NOTIFY trigger left on the log');

      const relay = createRelay({ db: pool, schema, transport: kafka({ brokers }), logger: silentLogger });
      await relay.start();
      try {
        await waitFor('all 33 published', () => relay.stats().published === 33);
      } finally {
        await relay.stop();
      }
      const messages = await readTopic(topic, 33);
      const ids = [...before, ...during].map((e) => e.id).concat(after.map((a) => a.id));
      assert.deepEqual(new Set(messages.map((m) => m.headers.ce_id)), new Set(ids));
      assert.equal(messages.length, 33, 'each once');
      // Per key, the order of writing.
      const byKey = new Map<string, string[]>();
      for (const m of messages) byKey.set(m.key, [...(byKey.get(m.key) ?? []), m.headers.ce_id as string]);
      for (const [key, got] of byKey) {
        const written = ids.filter((_, n) => `k${n % 7}` === key);
        assert.deepEqual(got, written, `order of ${key}`);
      }
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  });
});
