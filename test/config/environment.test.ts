// A service configured by its environment alone, as `herald relay` is: HERALD_SCHEMA (and
// DATABASE_URL) set, no `schema` or `db` option anywhere. Every entry point must work in that
// schema, and the relay and the consumer log the same way by default.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { z } from 'zod';
import { main as herald } from '../../src/cli/main.ts';
import {
  createConsumer,
  createConsumerDeadLetters,
  createDeadLetters,
  createOutbox,
  createRelay,
  defineEvent,
  getStatus,
  migrate,
  NonRetriableError,
  replayEvents,
  withTransaction,
} from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, databaseUrl, uniqueName } from '../support/env.ts';
import { createTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

describe('configured by the environment alone (HERALD_SCHEMA, DATABASE_URL)', () => {
  const schema = uniqueName('herald_env');
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  pool.on('error', () => {});
  const saved = { schema: process.env.HERALD_SCHEMA, level: process.env.HERALD_LOG_LEVEL };
  const lines: Record<string, unknown>[] = [];
  const write = process.stderr.write.bind(process.stderr);
  before(() => {
    process.env.HERALD_SCHEMA = schema;
    process.env.HERALD_LOG_LEVEL = 'info';
    // The default logger writes JSON lines to stderr: kept here to check both write alike.
    process.stderr.write = ((chunk: string | Uint8Array) => {
      const text = chunk.toString();
      for (const line of text.split('\n').filter(Boolean)) {
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
          continue;
        } catch {}
        write(`${line}\n`);
      }
      return true;
    }) as typeof process.stderr.write;
  });
  after(async () => {
    process.stderr.write = write;
    for (const [key, value] of [
      ['HERALD_SCHEMA', saved.schema],
      ['HERALD_LOG_LEVEL', saved.level],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  it('migrate, outbox, relay, consumer, status, dead letters, replay and the CLI all use HERALD_SCHEMA', async () => {
    await migrate(pool);
    const made = await pool.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema]);
    assert.equal(made.rowCount, 1, 'migrate() made the schema HERALD_SCHEMA names');

    const topic = await createTopic(1, 'herald-env');
    const Noted = defineEvent({
      type: 'env.noted',
      version: 1,
      destination: topic,
      schema: z.object({ n: z.number().int() }),
      key: () => 'one-key',
    });
    const outbox = createOutbox();
    const ids = await withTransaction(pool, (tx) =>
      outbox.add(
        tx,
        [1, 2, 3, 4, 13].map((n) => Noted({ n })),
      ),
    );
    const inLog = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".log`);
    assert.equal(inLog.rows[0].n, 5, 'the outbox wrote to HERALD_SCHEMA');

    const relay = createRelay({ transport: kafka({ brokers }) });
    const group = uniqueName('g');
    // A set: the events of one key go as a run, and those before the thrower run again (their
    // first run rolled back), so work outside the database is noted once.
    const seen = new Set<number>();
    const consumer = createConsumer({ transport: kafka({ brokers }), group, deadLetterTopic: false });
    consumer.on(Noted, (event) => {
      if (event.payload.n === 13) throw new NonRetriableError('thirteen is refused');
      seen.add(event.payload.n);
    });
    await relay.start();
    await consumer.start();
    try {
      await waitFor('four handled, one dead-lettered', () => seen.size === 4 && consumer.stats().deadLettered === 1);
      assert.equal(relay.stats().published, 5);
    } finally {
      await consumer.stop();
      await relay.stop();
    }
    assert.deepEqual([...seen], [1, 2, 3, 4]);
    assert.equal(consumer.stats().handled, 4, 'each handled once in effect');

    const status = await getStatus();
    assert.equal(status.backlog.events, 0, 'getStatus() read HERALD_SCHEMA: nothing left to publish');
    assert.equal(status.consumers.find((c) => c.group === group)?.deadLetters.pending, 1);

    const letters = createConsumerDeadLetters();
    const dead = await letters.list({ groups: [group] });
    await letters.close();
    assert.deepEqual(
      dead.map((d) => d.id),
      [ids[4]?.id],
    );
    const relayLetters = createDeadLetters();
    assert.deepEqual(await relayLetters.list(), []);
    await relayLetters.close();

    const replayed = await replayEvents({ from: new Date(Date.now() - 3_600_000), dryRun: true });
    assert.equal(replayed.matched, 5, 'replayEvents() read HERALD_SCHEMA');

    const out: string[] = [];
    const stdout = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      out.push(chunk.toString());
      return true;
    }) as typeof process.stdout.write;
    let code: number;
    try {
      code = await herald(['status', '--json']);
    } finally {
      process.stdout.write = stdout;
    }
    assert.equal(code, 0);
    assert.equal((JSON.parse(out.join('')) as { backlog: { events: number } }).backlog.events, 0);

    // The relay and the consumer log alike by default: JSON lines with a level, a time and a message.
    const messages = lines.map((l) => l.msg);
    assert.ok(messages.includes('relay started'), JSON.stringify(messages));
    assert.ok(messages.includes('consumer subscribed'), JSON.stringify(messages));
    assert.ok(messages.includes('message dead-lettered'), JSON.stringify(messages));
    for (const line of lines) {
      assert.ok(['debug', 'info', 'warn', 'error'].includes(String(line.level)));
      assert.ok(!Number.isNaN(Date.parse(String(line.time))));
    }
  });
});
