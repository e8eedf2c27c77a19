import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { z } from 'zod';
import { createOutbox, createRelay, defineEvent, listUnpublished, silentLogger } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, databaseUrl, freshSchema, inTransaction, type TestSchema } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';

const run = promisify(execFile);

const Drained = defineEvent({
  type: 'drain.item',
  version: 1,
  schema: z.object({ n: z.number() }),
  key: (p) => `k${p.n % 4}`,
});

describe('relay.drain() and herald relay --once', () => {
  let db: TestSchema;
  let topic: string;
  before(async () => {
    db = await freshSchema();
    topic = await createTopic(2);
  });
  after(() => db.drop());
  const outbox = () => createOutbox({ schema: db.schema });
  const write = (from: number, count: number) =>
    inTransaction(db.pool, (tx) =>
      outbox().add(
        tx,
        Array.from({ length: count }, (_, i) => Drained({ n: from + i }, { destination: topic })),
      ),
    );
  const unpublished = () => listUnpublished({ db: db.pool, schema: db.schema, limit: 1000 });

  it('a relay not started publishes what is committed, then stops; listUnpublished shows the backlog', async () => {
    const written = await write(0, 25);
    const before = await unpublished();
    assert.deepEqual(
      before.map((e) => e.id),
      written.map((w) => w.id),
      'the backlog, oldest first',
    );
    assert.equal(before[0]?.type, 'drain.item');
    assert.deepEqual(before[0]?.payload, { n: 0 });

    const relay = createRelay({ db: db.pool, schema: db.schema, transport: kafka({ brokers }), logger: silentLogger });
    const { published } = await relay.drain();
    assert.equal(published, 25);
    assert.equal(relay.stats().state, 'stopped', 'drain() of a relay it started stops it again');
    assert.deepEqual(await unpublished(), [], 'the cursors were saved');
    const messages = await readTopic(topic, 25);
    assert.equal(messages.length, 25);
  });

  it('a running relay resolves drain() once what was committed before the call is published', async () => {
    const relay = createRelay({
      db: db.pool,
      schema: db.schema,
      transport: kafka({ brokers }),
      logger: silentLogger,
      pollIntervalMs: 1000, // drain() wakes a relay waiting out a slow poll
    });
    await relay.start();
    try {
      await relay.drain();
      await write(100, 30);
      const { published } = await relay.drain();
      assert.equal(published, 30);
      assert.deepEqual(await unpublished(), []);
      assert.equal(relay.stats().state, 'running', 'still running');
    } finally {
      await relay.stop();
    }
  });

  it('drain() waits for events an older transaction, still open, holds back', async () => {
    // A transaction that began before the events and is still open, as another service's may
    // be: the relay's read takes rows only below it, so the events wait until it ends.
    const older = await db.pool.connect();
    let resolved = false;
    try {
      await older.query('BEGIN');
      await older.query('SELECT pg_current_xact_id()');
      await write(300, 10);
      const relay = createRelay({
        db: db.pool,
        schema: db.schema,
        transport: kafka({ brokers }),
        logger: silentLogger,
      });
      const draining = relay.drain().then((r) => {
        resolved = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(resolved, false, 'not done while the events committed before it are held back');
      await older.query('COMMIT');
      const { published } = await draining;
      assert.equal(published, 10);
      assert.deepEqual(await unpublished(), []);
    } finally {
      if (!resolved) await older.query('ROLLBACK').catch(() => {});
      older.release();
    }
  });

  it('herald relay --once publishes the backlog and exits 0', async () => {
    await write(200, 12);
    const { stdout } = await run(process.execPath, ['src/cli/main.ts', 'relay', '--once', '--schema', db.schema], {
      env: { ...process.env, DATABASE_URL: databaseUrl, KAFKA_BROKERS: brokers.join(','), HERALD_LOG_LEVEL: 'error' },
    });
    assert.match(stdout, /published 12 events/);
    assert.deepEqual(await unpublished(), []);
  });
});
