import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { startKafka, stopKafka } from '../infra/kafka.mjs';
import { createConsumer, createLogger, createOutbox, createRelay, defineEvent, type Relay } from '../src/index.ts';
import { kafka } from '../src/transports/kafka/index.ts';
import { createEffects } from './support/consumer.ts';
import { brokers, freshSchema, inTransaction, uniqueName } from './support/env.ts';
import { createTopic, readTopic } from './support/kafka.ts';
import { waitFor } from './support/relay-process.ts';

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

describe('services restarting under a running relay and consumer', () => {
  let db: Awaited<ReturnType<typeof freshSchema>>;
  let relay: Relay;
  let effects: string;
  const lines: string[] = [];
  const consumers: { stop(): Promise<void> }[] = [];
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
    consumers.push(consumer); // stopped in after() too, whatever fails first
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
  before(async () => {
    db = await freshSchema();
    effects = await createEffects(db.pool, db.schema);
    relay = createRelay({
      db: db.pool,
      schema: db.schema,
      transport: kafka({ brokers, timeoutMs: 2000 }),
      logger: createLogger({ level: 'info', write: (line) => lines.push(line) }),
      backoff: { initialMs: 100, maxMs: 1000 },
    });
    await relay.start();
  });
  after(async () => {
    for (const consumer of consumers) await consumer.stop();
    await relay.stop();
    await db.drop();
  });

  it('Kafka stopped and started mid-stream: nothing lost, one log line per state change', async () => {
    const topic = await createTopic(3);
    const consumer = await startConsumer(topic);
    const writer = startWriter(db, topic);
    let failuresWhileDown = 0;
    try {
      await waitFor('some events published', () => relay.stats().published > 50);
      await stopKafka();
      try {
        await waitFor('the relay to notice', () => relay.stats().failures > 0, 60_000);
        await new Promise((r) => setTimeout(r, 3000));
        failuresWhileDown = relay.stats().failures;
        assert.equal(relay.stats().circuit, 'open', 'the circuit is open while the broker is down');
      } finally {
        await startKafka();
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
    const messages = await readTopic(topic, total, { timeoutMs: 60_000, untilIds: writer.committed });
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

  it('PostgreSQL restarted mid-stream: every committed event still arrives, and is handled once', async () => {
    const topic = await createTopic(3);
    const consumer = await startConsumer(topic);
    const writer = startWriter(db, topic);
    try {
      await waitFor('some events published', () => relay.stats().published > 50);
      const version = readdirSync('/etc/postgresql')[0] as string;
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart', '--mode', 'fast']);
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
