import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { z } from 'zod';
import { privateKafka } from '../../infra/kafka.mjs';
import { privatePostgres } from '../../infra/postgres.mjs';
import { createConsumer, createLogger, createOutbox, createRelay, defineEvent, type Relay } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { createEffects } from '../support/consumer.ts';
import { databaseUrl, freshSchema, inTransaction, brokers as sharedBrokers, uniqueName } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';
import { orSkip } from '../support/private.ts';
import { waitFor } from '../support/relay-process.ts';

const Ticked = defineEvent({
  type: 'restart.ticked',
  version: 1,
  schema: z.object({ key: z.string(), n: z.number().int() }),
  key: (p) => p.key,
});

/** Writes events one transaction at a time until stopped; counts only what committed. */
function startWriter(db: Awaited<ReturnType<typeof freshSchema>>, topic: string) {
  const outbox = createOutbox({ schema: db.schema });
  const committed: string[] = [];
  let stopped = false;
  let failures = 0;
  const done = (async () => {
    for (let n = 0; !stopped; n++) {
      try {
        const added = await inTransaction(db.pool, (tx) =>
          outbox.add(tx, Ticked({ key: `k${n % 10}`, n }, { destination: topic })),
        );
        committed.push(...added.map((a) => a.id));
      } catch {
        failures++; // the database is restarting: this transaction did not commit
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return {
    committed,
    failures: () => failures,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/**
 * A schema, a running relay and consumers of the test, on the database at `url` and the Kafka at
 * `brokers`; when the test ends, whatever fails first, all are stopped, the schema dropped, and
 * then the private instance `on` destroyed.
 */
async function pipeline(
  t: TestContext,
  { url, brokers, on }: { url: string; brokers: string[]; on: { destroy(): Promise<void> } },
) {
  const consumers: { stop(): Promise<void> }[] = [];
  let relay: Relay | undefined;
  let db: Awaited<ReturnType<typeof freshSchema>> | undefined;
  t.after(async () => {
    try {
      for (const consumer of consumers) await consumer.stop();
      await relay?.stop();
      await db?.drop();
    } finally {
      await on.destroy();
    }
  });
  db = await freshSchema(url);
  const effects = await createEffects(db.pool, db.schema);
  const lines: string[] = [];
  relay = createRelay({
    db: db.pool,
    schema: db.schema,
    transport: kafka({ brokers, timeoutMs: 2000 }),
    logger: createLogger({ level: 'info', write: (line) => lines.push(line) }),
    backoff: { initialMs: 100, maxMs: 1000 },
  });
  await relay.start();
  /** A consumer of the test's topic that records one effect per event it handles. */
  const startConsumer = async (topic: string) => {
    const consumer = createConsumer({
      transport: kafka({ brokers, timeoutMs: 2000, sessionTimeoutMs: 6000 }),
      group: uniqueName('g'),
      db: db.pool,
      schema: db.schema,
      topics: [topic],
      retry: { attempts: 3, initialMs: 100, maxMs: 1000 },
    });
    consumer.on(Ticked, async (event, { tx }) => {
      await tx.query(`INSERT INTO ${effects} (event_id, key) VALUES ($1, $2)`, [event.id, event.key]);
    });
    consumers.push(consumer); // stopped when the test ends too, whatever fails first
    await consumer.start();
    return consumer;
  };
  /** Every committed event has exactly one effect, and nothing was dead-lettered. */
  const assertOneEffectEach = async (committed: string[], consumer: Awaited<ReturnType<typeof startConsumer>>) => {
    const count = async () =>
      (await db.pool.query(`SELECT count(*)::int AS n FROM ${effects} WHERE event_id = ANY($1)`, [committed])).rows[0]
        .n as number;
    await waitFor('one effect per event', async () => (await count()) >= committed.length, 90_000);
    const rows = await db.pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS d FROM ${effects} WHERE event_id = ANY($1)`,
      [committed],
    );
    assert.deepEqual(rows.rows[0], { n: committed.length, d: committed.length });
    assert.equal(consumer.stats().deadLettered, 0, 'an outage dead-letters nothing');
  };
  return { db, relay, lines, startConsumer, assertOneEffectEach };
}

// What is stopped or restarted is a private instance of the test's own (infra/kafka.mjs,
// infra/postgres.mjs), never the shared service, which may be the user's own; the relay, the
// consumer, the topic and the schema of the test are on it. The test is skipped, saying why, when
// that instance cannot run here.
describe('services restarting under a running relay and consumer', () => {
  it('Kafka stopped and started mid-stream: nothing lost, one log line per state change', async (t) => {
    const broker = await orSkip(t, () => privateKafka());
    if (!broker) return;
    const brokers = [broker.bootstrap];
    const { db, relay, lines, startConsumer, assertOneEffectEach } = await pipeline(t, {
      url: databaseUrl,
      brokers,
      on: broker,
    });
    const topic = await createTopic(3, 'herald-test', {}, brokers);
    const consumer = await startConsumer(topic);
    const writer = startWriter(db, topic);
    let failuresWhileDown = 0;
    try {
      await waitFor('some events published', () => relay.stats().published > 50);
      assert.ok((await broker.stop()).stopped, 'the broker was stopped');
      try {
        await waitFor('the relay to notice', () => relay.stats().failures > 0, 60_000);
        await new Promise((r) => setTimeout(r, 3000));
        failuresWhileDown = relay.stats().failures;
        assert.equal(relay.stats().circuit, 'open', 'the circuit is open while the broker is down');
      } finally {
        await broker.start();
      }
      await waitFor('the relay to recover', () => relay.stats().failures === 0, 60_000);
    } finally {
      await writer.stop();
    }
    const total = writer.committed.length;
    await waitFor('all published', async () => {
      const r = await db.pool.query(`SELECT count(*)::int AS n FROM "${db.schema}".log`);
      return relay.stats().published >= r.rows[0].n;
    });

    // Until every committed id is seen: duplicates count as records, so a count alone stops early.
    const messages = await readTopic(topic, total, { timeoutMs: 60_000, untilIds: writer.committed, brokers });
    const seen = new Set(messages.map((m) => m.headers.ce_id));
    const lost = writer.committed.filter((id) => !seen.has(id));
    assert.equal(lost.length, 0, `lost ${lost.length} of ${total}`);
    assert.ok(failuresWhileDown < 40, `${failuresWhileDown} attempts in ~3 s down: backoff, not a hot loop`);
    const failureLines = lines.filter((l) => l.includes('failed; retrying with backoff'));
    assert.ok(failureLines.length <= 3, `${failureLines.length} failure lines for one outage`);
    assert.ok(lines.some((l) => l.includes('recovered')));
    assert.equal(relay.stats().circuit, 'closed');
    try {
      await assertOneEffectEach(writer.committed, consumer);
    } finally {
      await consumer.stop();
    }
  });

  it('PostgreSQL restarted mid-stream: every committed event still arrives, and is handled once', async (t) => {
    const cluster = await orSkip(t, () => privatePostgres());
    if (!cluster) return;
    const { db, relay, startConsumer, assertOneEffectEach } = await pipeline(t, {
      url: cluster.url,
      brokers: sharedBrokers,
      on: cluster,
    });
    const topic = await createTopic(3);
    const consumer = await startConsumer(topic);
    const writer = startWriter(db, topic);
    try {
      await waitFor('some events published', () => relay.stats().published > 50);
      const before = cluster.pid();
      await cluster.restart({ mode: 'fast' });
      assert.notEqual(cluster.pid(), before, 'a new postmaster runs');
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await writer.stop();
    }
    const total = writer.committed.length;
    await waitFor(
      'all published',
      async () => {
        const r = await db.pool.query(`SELECT count(*)::int AS n FROM "${db.schema}".log l WHERE destination = $1`, [
          topic,
        ]);
        return r.rows[0].n === total && relay.stats().failures === 0 && relay.stats().state === 'running';
      },
      60_000,
    );
    // Until every committed id is seen: duplicates count as records, so a count alone stops early.
    const messages = await readTopic(topic, total, { timeoutMs: 60_000, untilIds: writer.committed });
    const seen = new Set(messages.map((m) => m.headers.ce_id));
    const lost = writer.committed.filter((id) => !seen.has(id));
    assert.equal(lost.length, 0, `lost ${lost.length} of ${total}`);
    try {
      await assertOneEffectEach(writer.committed, consumer);
    } finally {
      await consumer.stop();
    }
  });
});
