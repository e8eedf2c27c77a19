import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { startKafka, stopKafka } from '../infra/kafka.mjs';
import { createLogger, createOutbox, createRelay, defineEvent, type Relay } from '../src/index.ts';
import { kafka } from '../src/transports/kafka/index.ts';
import { brokers, freshSchema, inTransaction } from './support/env.ts';
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

describe('services restarting under a running relay', () => {
  let db: Awaited<ReturnType<typeof freshSchema>>;
  let relay: Relay;
  const lines: string[] = [];
  before(async () => {
    db = await freshSchema();
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
    await relay.stop();
    await db.drop();
  });

  it('Kafka stopped and started mid-stream: nothing lost, one log line per state change', async () => {
    const topic = await createTopic(3);
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

    const messages = await readTopic(topic, total, { timeoutMs: 60_000 });
    const seen = new Set(messages.map((m) => m.headers.ce_id));
    const lost = writer.committed.filter((id) => !seen.has(id));
    assert.equal(lost.length, 0, `lost ${lost.length} of ${total}`);
    assert.ok(failuresWhileDown < 40, `${failuresWhileDown} attempts in ~3 s down: backoff, not a hot loop`);
    const failureLines = lines.filter((l) => l.includes('failed; retrying with backoff'));
    assert.ok(failureLines.length <= 3, `${failureLines.length} failure lines for one outage`);
    assert.ok(lines.some((l) => l.includes('recovered')));
    assert.equal(relay.stats().circuit, 'closed');
  });

  it('PostgreSQL restarted mid-stream: every committed event still arrives', async () => {
    const topic = await createTopic(3);
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
    const messages = await readTopic(topic, total, { timeoutMs: 60_000 });
    const seen = new Set(messages.map((m) => m.headers.ce_id));
    const lost = writer.committed.filter((id) => !seen.has(id));
    assert.equal(lost.length, 0, `lost ${lost.length} of ${total}`);
  });
});
