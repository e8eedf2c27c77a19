import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { z } from 'zod';
import { createOutbox, createRelay, defineEvent, HeraldError, silentLogger } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, freshSchema, inTransaction } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

const run = promisify(execFile);

describe('bad input and unreachable services', () => {
  let db: Awaited<ReturnType<typeof freshSchema>>;
  before(async () => {
    db = await freshSchema();
  });
  after(() => db.drop());

  it('a broker unreachable at start: clear error, retries with backoff, nothing lost', async () => {
    const topic = await createTopic(1);
    const Noted = defineEvent({
      type: 'noted',
      version: 1,
      destination: topic,
      schema: z.object({ n: z.number() }),
      key: () => 'k',
    });
    const outbox = createOutbox({ schema: db.schema });
    const ids = await inTransaction(db.pool, (tx) => outbox.add(tx, [Noted({ n: 1 }), Noted({ n: 2 })]));

    const down = createRelay({
      db: db.pool,
      schema: db.schema,
      transport: kafka({ brokers: ['127.0.0.1:1'], timeoutMs: 500 }),
      logger: silentLogger,
      backoff: { initialMs: 50, maxMs: 400 },
    });
    const started = Date.now();
    await down.start();
    await waitFor('two failed attempts', () => down.stats().failures >= 3);
    const stats = down.stats();
    const seconds = (Date.now() - started) / 1000;
    await down.stop();
    assert.equal(stats.lastError?.code, 'HERALD_BROKER_UNAVAILABLE');
    assert.match(stats.lastError?.message ?? '', /cannot reach Kafka at 127\.0\.0\.1:1/);
    assert.equal(stats.published, 0);
    // Backoff, not a hot loop: a few attempts per second at most.
    assert.ok(stats.failures / seconds < 10, `${stats.failures} attempts in ${seconds} s`);

    const up = createRelay({ db: db.pool, schema: db.schema, transport: kafka({ brokers }), logger: silentLogger });
    await up.start();
    await waitFor('the events once the broker is reachable', () => up.stats().published === 2);
    await up.stop();
    const messages = await readTopic(topic, 2);
    assert.deepEqual(
      messages.map((m) => m.headers.ce_id),
      ids.map((a) => a.id),
    );
  });

  it('a database unreachable at start: typed error naming the target, password hidden', async () => {
    const relay = createRelay({
      db: 'postgres://herald:hunter2@127.0.0.1:1/app',
      transport: kafka({ brokers }),
      logger: silentLogger,
    });
    const error = await relay.start().catch((e: unknown) => e);
    assert.ok(error instanceof HeraldError);
    assert.equal(error.code, 'HERALD_DATABASE_UNAVAILABLE');
    assert.match(error.message, /127\.0\.0\.1:1\/app/);
    assert.doesNotMatch(error.message, /hunter2/);

    const cli = await run(process.execPath, ['src/cli/main.ts', 'relay'], {
      env: {
        ...process.env,
        DATABASE_URL: 'postgres://herald:hunter2@127.0.0.1:1/app',
        KAFKA_BROKERS: brokers.join(','),
      },
    }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((cli as { code: number }).code, 1);
    assert.match((cli as { stderr: string }).stderr, /HERALD_DATABASE_UNAVAILABLE/);
    assert.doesNotMatch((cli as { stderr: string }).stderr, /hunter2/);
  });

  it('a schema that was never migrated: HERALD_NOT_MIGRATED at start', async () => {
    const relay = createRelay({
      db: db.pool,
      schema: 'herald_never_migrated',
      transport: kafka({ brokers }),
      logger: silentLogger,
    });
    await assert.rejects(relay.start(), { code: 'HERALD_NOT_MIGRATED' });
  });

  it('a destination the broker cannot take is dead-lettered with its reason; the next event flows', async () => {
    const schema = await freshSchema();
    try {
      const topic = await createTopic(1);
      const outbox = createOutbox({ schema: schema.schema });
      const Ev = defineEvent({ type: 'odd.type', version: 1, schema: z.object({ n: z.number() }), key: () => 'k' });
      const Ok = defineEvent({ type: 'ok.type', version: 1, schema: z.object({ n: z.number() }), key: () => 'k' });
      const [bad] = await inTransaction(schema.pool, (tx) => outbox.add(tx, [Ev({ n: 1 }), Ok({ n: 2 })]));
      // A topic strategy that yields a name Kafka refuses (a slash) for one type.
      const relay = createRelay({
        db: schema.pool,
        schema: schema.schema,
        transport: kafka({ brokers }),
        topic: (type) => (type === 'odd.type' ? `bad/${type}` : topic),
        logger: silentLogger,
      });
      await relay.start();
      await waitFor('both settled', () => relay.stats().published === 2);
      const [failed] = await relay.getFailedEvents();
      await relay.stop();
      assert.equal(failed?.id, bad?.id);
      assert.equal(failed?.error.code, 'HERALD_INVALID_DESTINATION');
      // Not retriable: refused once in its batch, once alone to find it, then dead-lettered.
      assert.equal(failed?.attempts, 2);
      const published = await readTopic(topic, 1);
      assert.equal(published[0]?.headers.ce_type, 'ok.type');
    } finally {
      await schema.drop();
    }
  });

  it('options are validated at creation with the setting named', () => {
    const transport = kafka({ brokers });
    assert.throws(() => createRelay({ db: db.pool, transport, batchSize: 0 }), /batchSize: 0 must be an integer/);
    assert.throws(() => createRelay({ db: db.pool, transport, schema: 'Bad-Name' }), {
      code: 'HERALD_INVALID_IDENTIFIER',
    });
    assert.throws(() => kafka({ brokers: 'localhost' }), { code: 'HERALD_INVALID_CONFIG' });
  });
});
