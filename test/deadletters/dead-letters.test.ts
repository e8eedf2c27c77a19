import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { z } from 'zod';
import { createOutbox, createRelay, defineEvent, type Relay, silentLogger } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, databaseUrl, freshSchema, inTransaction, type TestSchema } from '../support/env.ts';
import { createTopic, readTopic, setTopicConfig } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

const run = promisify(execFile);

const Note = defineEvent({
  type: 'dlq.note',
  version: 1,
  schema: z.object({ n: z.number().int(), pad: z.string().default('') }),
  key: (p) => `k${p.n % 2}`,
});

describe('dead letters', () => {
  let db: TestSchema;
  let relay: Relay | undefined;
  before(async () => {
    db = await freshSchema();
  });
  after(async () => {
    await relay?.stop();
    await db.drop();
  });
  const cli = (args: string[]) =>
    run(process.execPath, ['src/cli/main.ts', 'dlq', ...args], {
      env: { ...process.env, DATABASE_URL: databaseUrl, KAFKA_BROKERS: brokers.join(','), HERALD_SCHEMA: db.schema },
    });

  it('a message the broker refuses goes to dead letters with its reason; the others are published', async () => {
    // A topic that takes at most 4 kB per message: the 6 kB event is refused as too large.
    const topic = await createTopic(1, 'herald-dlq', { 'max.message.bytes': '4096' });
    const outbox = createOutbox({ schema: db.schema });
    relay = createRelay({
      db: db.pool,
      schema: db.schema,
      transport: kafka({ brokers }),
      topic: () => topic,
      logger: silentLogger,
      maxAttempts: 3,
      backoff: { initialMs: 20, maxMs: 100 },
    });
    await relay.start();
    const events = [Note({ n: 1 }), Note({ n: 2, pad: 'x'.repeat(6000) }), Note({ n: 3 }), Note({ n: 4 })];
    await inTransaction(db.pool, (tx) => outbox.add(tx, events));
    await waitFor('the batch to be settled', () => relay?.stats().published === 4, 60_000);
    assert.equal(relay.stats().deadLettered, 1);

    const published = await readTopic(topic, 3);
    assert.deepEqual(
      published.map((m) => JSON.parse(m.value).n),
      [1, 3, 4],
    );
    const [failed, ...rest] = await relay.getFailedEvents();
    assert.equal(rest.length, 0);
    assert.equal(failed?.id, events[1]?.id);
    assert.equal(failed?.error.code, 'HERALD_MESSAGE_TOO_LARGE');
    assert.equal(failed?.destination, topic);
    assert.equal(failed?.status, 'pending');
    assert.deepEqual((failed?.payload as { n: number } | undefined)?.n, 2);

    // The CLI sees it, with filters and --json.
    const listed = await cli(['list', '--json', '--type', 'dlq.note']);
    const lines = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => l.id),
      [events[1]?.id],
    );
    assert.equal((await cli(['list', '--json', '--error', 'no-such-error'])).stdout.trim(), '');
    const shown = JSON.parse((await cli(['show', String(events[1]?.id), '--json'])).stdout);
    assert.equal(shown.error.code, 'HERALD_MESSAGE_TOO_LARGE');

    // Retrying before the cause is fixed fails again and says so; it stays pending.
    const again = await cli(['retry', String(events[1]?.id), '--json']).catch(
      (e: { code: number; stdout: string }) => e,
    );
    assert.equal((again as { code: number }).code, 1);
    assert.equal(JSON.parse((again as { stdout: string }).stdout).ok, false);

    // The operator raises the topic's limit; retry publishes it and records the outcome.
    await setTopicConfig(topic, 'max.message.bytes', '1048576');
    const retried = await relay.retryFailedEvent(String(events[1]?.id));
    assert.equal(retried.ok, true);
    const afterRetry = await readTopic(topic, 4);
    assert.equal(JSON.parse(afterRetry[3]?.value ?? '{}').n, 2);
    assert.equal((await relay.getFailedEvents()).length, 0, 'no longer pending');
    assert.equal((await relay.getFailedEvents({ status: 'retried' }))[0]?.id, events[1]?.id);
  });

  it('discard needs ids or a filter, then marks them discarded', async () => {
    const refused = await cli(['discard']).catch((e: { code: number; stderr: string }) => e);
    assert.equal((refused as { code: number }).code, 2);
    assert.match((refused as { stderr: string }).stderr, /discard needs ids or a filter/);
    await db.pool.query(
      `INSERT INTO "${db.schema}".dead_letters (id, xid, seq, type, version, source, partition_key, shard, destination,
        payload, created_at, error_code, error_message, attempts, first_failed_at)
       VALUES (gen_random_uuid(), '1', 1, 'dlq.other', 1, '/t', 'k', 0, 't', '{}', now(), 'HERALD_PUBLISH_FAILED', 'x', 3, now())`,
    );
    const discarded = await cli(['discard', '--type', 'dlq.other', '--json']);
    assert.deepEqual(JSON.parse(discarded.stdout), { discarded: 1 });
    assert.equal((await cli(['list', '--json', '--type', 'dlq.other'])).stdout.trim(), '');
    const all = await cli(['list', '--json', '--status', 'discarded']);
    assert.equal(JSON.parse(all.stdout.trim()).type, 'dlq.other');
  });

  it("with onFailure 'block', a refused message holds its followers back and nothing is dead-lettered", async () => {
    const schema = await freshSchema();
    try {
      const outbox = createOutbox({ schema: schema.schema });
      await inTransaction(schema.pool, (tx) => outbox.add(tx, [Note({ n: 1 }), Note({ n: 2 })]));
      const blocked = createRelay({
        db: schema.pool,
        schema: schema.schema,
        transport: kafka({ brokers }),
        topic: () => 'bad/topic', // a name Kafka refuses
        onFailure: 'block',
        maxAttempts: 1,
        logger: silentLogger,
        backoff: { initialMs: 20, maxMs: 50 },
      });
      await blocked.start();
      await waitFor('several failures', () => blocked.stats().failures >= 3);
      const stats = blocked.stats();
      await blocked.stop();
      assert.equal(stats.lastError?.code, 'HERALD_INVALID_DESTINATION');
      assert.equal(stats.published, 0);
      assert.equal(stats.deadLettered, 0);
      const count = await schema.pool.query(`SELECT count(*)::int AS n FROM "${schema.schema}".dead_letters`);
      assert.equal(count.rows[0].n, 0);
    } finally {
      await schema.drop();
    }
  });
});
