import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { z } from 'zod';
import {
  createConsumer,
  createConsumerDeadLetters,
  createDeadLetters,
  createOutbox,
  createRelay,
  defineEvent,
  getStatus,
  HeraldError,
  listUnpublished,
  migrate,
  migrationStatus,
  readStream,
  replayEvents,
  silentLogger,
} from '../../src/index.ts';
import { grantsSql } from '../../src/store/grants.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { postgres } from '../../src/transports/postgres/index.ts';
import { rabbitmq } from '../../src/transports/rabbitmq/index.ts';
import { sqs } from '../../src/transports/sqs/index.ts';
import { adminFixture, call } from '../admin/fixture.ts';
import { brokers, databaseUrl } from '../support/env.ts';

const run = promisify(execFile);

/** Names no rule may let through: SQL and shell syntax, spaces, control and non-ASCII characters, overlong. */
const hostile = [
  'x"; DROP TABLE y; --',
  "x'; DROP SCHEMA public CASCADE; --",
  'herald;select',
  'a b',
  'tab\there',
  'line\nbreak',
  'trailing\n',
  'nul\u0000byte',
  'schéma',
  'ｈｅｒａｌｄ', // full-width look-alikes
  'herald\u202Eevil', // right-to-left override
  '日本',
  '',
  'a'.repeat(250),
  'b'.repeat(100_000),
];
/** SQL identifiers have a narrower rule: no upper case, dots or dashes, at most 63. */
const hostileSql = [...hostile, 'Herald', 'her.ald', 'her-ald', 'c'.repeat(64), '1starts_with_digit'];

/** Runs `fn` (sync or async) and returns the HeraldError it fails with. */
async function refusal(fn: () => unknown): Promise<HeraldError> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof HeraldError, `a HeraldError, not ${String(error)}`);
    return error;
  }
  assert.fail('expected a refusal');
}

/** The error shows a hostile name escaped and cut: printable ASCII only, never a megabyte. */
function assertShownSafely(error: HeraldError): void {
  assert.match(error.message, /^[\x20-\x7e]*$/, `printable ASCII: ${JSON.stringify(error.message)}`);
  assert.ok(error.message.length < 400, `short: ${error.message.length} characters`);
}

const Def = defineEvent({ type: 'security.names', version: 1, schema: z.object({ n: z.number() }), key: () => 'k' });

describe('hostile identifiers: every entry point refuses them by the one name rule (config/names.ts)', () => {
  const transport = kafka({ brokers });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  after(async () => {
    await transport.close();
    await pool.end();
  });

  it('a schema: every factory and function that puts it in SQL, HERALD_INVALID_IDENTIFIER', async () => {
    const db = databaseUrl;
    const entries: Record<string, (schema: string) => unknown> = {
      createOutbox: (schema) => createOutbox({ schema }),
      createRelay: (schema) => createRelay({ db, schema, transport, logger: silentLogger }),
      createConsumer: (schema) => createConsumer({ db, schema, transport, group: 'g', logger: silentLogger }),
      getStatus: (schema) => getStatus({ db, schema }),
      migrate: (schema) => migrate(pool, { schema }),
      migrationStatus: (schema) => migrationStatus(pool, { schema }),
      replayEvents: (schema) => replayEvents({ db, schema, from: new Date(0), dryRun: true }),
      createDeadLetters: (schema) => createDeadLetters({ db, schema }),
      createConsumerDeadLetters: (schema) => createConsumerDeadLetters({ db, schema }),
      readStream: (schema) => readStream({ key: 'k' }, { db, schema }),
      listUnpublished: (schema) => listUnpublished({ db, schema }),
      'postgres transport': (schema) => postgres({ db, schema }),
      'grantsSql schema': (schema) => grantsSql({ schema, writer: 'w' }),
      'grantsSql role': (role) => grantsSql({ writer: role }),
    };
    let refused = 0;
    for (const [entry, call] of Object.entries(entries)) {
      for (const name of hostileSql) {
        const error = await refusal(() => call(name));
        assert.equal(error.code, 'HERALD_INVALID_IDENTIFIER', `${entry}(${JSON.stringify(name.slice(0, 40))})`);
        assertShownSafely(error);
        refused++;
      }
    }
    assert.equal(refused, Object.keys(entries).length * hostileSql.length);
  });

  it('a topic: consumer topics, definitions, events, replays and topic prefixes, HERALD_INVALID_DESTINATION', async () => {
    const entries: Record<string, (topic: string) => unknown> = {
      'createConsumer topics': (topic) =>
        createConsumer({ db: databaseUrl, transport, group: 'g', topics: ['ok', topic], logger: silentLogger }),
      'defineEvent destination': (topic) =>
        defineEvent({ type: 't', version: 1, schema: z.object({}), key: () => 'k', destination: topic }),
      'event destination': (topic) => Def({ n: 1 }, { destination: topic }),
      'replay destination': (topic) =>
        replayEvents({ db: databaseUrl, transport, from: new Date(0), destination: topic, dryRun: true }),
      'relay topicPrefix': (topic) => createRelay({ db: databaseUrl, transport, topicPrefix: topic }),
      'consumer topicPrefix': (topic) =>
        createConsumer({ db: databaseUrl, transport, group: 'g', topicPrefix: topic, logger: silentLogger }),
      'kafka compressionByDestination': (topic) => kafka({ brokers, compressionByDestination: { [topic]: 'gzip' } }),
      'replay topicPrefix': (topic) =>
        replayEvents({ db: databaseUrl, transport, from: new Date(0), topicPrefix: topic, dryRun: true }),
    };
    for (const [entry, call] of Object.entries(entries)) {
      // A replay's options are checked together: its destination is refused as a setting.
      const code = entry === 'replay destination' ? 'HERALD_INVALID_CONFIG' : 'HERALD_INVALID_DESTINATION';
      for (const name of hostile.filter((n) => n !== '' || !entry.includes('topicPrefix'))) {
        const error = await refusal(() => call(name));
        assert.equal(error.code, code, `${entry}(${JSON.stringify(name.slice(0, 40))})`);
        assertShownSafely(error);
      }
    }
  });

  it('a consumer group and an event type: HERALD_INVALID_CONFIG naming the setting, HERALD_INVALID_DEFINITION', async () => {
    const groups: Record<string, (group: string) => unknown> = {
      createConsumer: (group) => createConsumer({ db: databaseUrl, transport, group, logger: silentLogger }),
      'rabbitmq groups': (group) => rabbitmq({ url: 'amqp://127.0.0.1:5672', groups: ['ok', group] }),
      'sqs groups': (group) => sqs({ endpoint: 'http://127.0.0.1:9324', region: 'elasticmq', groups: [group] }),
    };
    for (const [entry, call] of Object.entries(groups)) {
      for (const name of hostile) {
        const error = await refusal(() => call(name));
        assert.equal(error.code, 'HERALD_INVALID_CONFIG', `${entry}(${JSON.stringify(name.slice(0, 40))})`);
        assert.match(error.message, /group/);
        assertShownSafely(error);
      }
    }
    for (const type of hostile) {
      const error = await refusal(() => defineEvent({ type, version: 1, schema: z.object({}), key: () => 'k' }));
      assert.equal(error.code, 'HERALD_INVALID_DEFINITION');
      const byType = await refusal(() => kafka({ brokers, partitionerByType: { [type]: 'round-robin' } }));
      assert.equal(byType.code, 'HERALD_INVALID_CONFIG');
      assertShownSafely(byType);
    }
  });

  it('the CLI: --schema, HERALD_SCHEMA, --topic-prefix and --groups refused at start, exit code 2, nothing run', async () => {
    const cases: [string[], Record<string, string>][] = [];
    for (const name of ['x"; DROP TABLE y; --', 'schéma', 'c'.repeat(64)]) {
      cases.push([['status', '--schema', name], {}], [['migrate'], { HERALD_SCHEMA: name }]);
      cases.push([['relay', '--topic-prefix', `${name}!`], {}], [['relay', '--groups', `ok,${name}!`], {}]);
    }
    for (const [args, env] of cases) {
      const r = await run(process.execPath, ['src/cli/main.ts', ...args], {
        env: { ...process.env, DATABASE_URL: databaseUrl, KAFKA_BROKERS: brokers.join(','), ...env },
      }).then(
        () => assert.fail(`herald ${args.join(' ')} was not refused`),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(r.code, 2, `herald ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /HERALD_INVALID_CONFIG: (--schema|HERALD_SCHEMA|--topic-prefix|--groups)/);
      assert.match(r.stderr.split('\n')[0] ?? '', /^[\x20-\x7e]*$/);
    }
  });
});

describe('SQL injection through every user-given value: parameters, never SQL text', () => {
  let f: Awaited<ReturnType<typeof adminFixture>>;
  before(async () => {
    f = await adminFixture();
  });
  after(() => f?.close());
  const injections = [
    "' OR '1'='1",
    "x'; DROP TABLE log; --",
    'x"; DELETE FROM dead_letters; --',
    "order-1' UNION SELECT * FROM pg_authid --",
    '$1',
    '\\',
  ];

  it('ids, keys, types, aggregates and groups match nothing (the tables intact), in the API, the library and the CLI', async () => {
    const { pool, schema } = f.db;
    const count = async () =>
      (
        await pool.query<{ n: string }>(
          `SELECT (SELECT count(*) FROM "${schema}".log) + (SELECT count(*) FROM "${schema}".dead_letters)
           + (SELECT count(*) FROM "${schema}".consumer_dead_letters) AS n`,
        )
      ).rows[0]?.n;
    const before = await count();
    assert.equal(before, '7', 'four events, one dead letter, two consumer dead letters');
    // The same calls with real values find what is there: the injections' empty answers mean something.
    assert.equal((await readStream({ key: 'order-1' }, { db: pool, schema })).events.length, 1);
    assert.equal((await call(f.base, 'GET', '/api/events?key=order-1')).body.events.length, 1);
    assert.equal((await call(f.base, 'GET', '/api/dead-letters?group=billing')).body.deadLetters.length, 2);
    const deadLetters = createDeadLetters({ db: pool, schema });
    const consumerDeadLetters = createConsumerDeadLetters({ db: pool, schema });
    for (const x of injections) {
      const q = encodeURIComponent(x);
      assert.equal((await readStream({ key: x }, { db: pool, schema })).events.length, 0);
      assert.equal((await readStream({ aggregateType: x, aggregateId: x }, { db: pool, schema })).events.length, 0);
      assert.equal((await deadLetters.list({ types: [x], keys: [x], status: 'all' })).length, 0);
      assert.equal((await consumerDeadLetters.list({ groups: ['billing'], keys: [x], status: 'all' })).length, 0);
      const plan = await replayEvents({ db: pool, schema, from: new Date(0), types: [x], keys: [x], dryRun: true });
      assert.equal(plan.matched, 0);
      for (const path of [
        `/api/events?id=${q}`,
        `/api/events?key=${q}`,
        `/api/events?type=${q}`,
        `/api/events?aggregateType=${q}&aggregateId=${q}`,
        `/api/dead-letters?type=${q}&status=all`,
        `/api/dead-letters?key=${q}&group=billing&status=all`,
      ]) {
        const r = await call(f.base, 'GET', path);
        assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
        const list = r.body.events ?? r.body.deadLetters;
        assert.equal(list.length, 0, path);
      }
      const cli = await run(process.execPath, ['src/cli/main.ts', 'events', '--key', x, '--json'], {
        env: { ...process.env, DATABASE_URL: databaseUrl, HERALD_SCHEMA: schema },
      });
      assert.deepEqual(
        cli.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
        [{ next: null }],
        'no event, one page',
      );
    }
    assert.equal(await count(), before, 'nothing dropped or deleted');
  });
});
