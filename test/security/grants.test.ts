import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { z } from 'zod';
import {
  createConsumer,
  createConsumerDeadLetters,
  createOutbox,
  createRelay,
  defineEvent,
  HeraldError,
  migrate,
  NonRetriableError,
  silentLogger,
} from '../../src/index.ts';
import { grantsSql } from '../../src/store/grants.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, databaseUrl, uniqueName } from '../support/env.ts';
import { waitFor } from '../support/relay-process.ts';

const run = promisify(execFile);

/** The shared database as another role (trust authentication on 127.0.0.1). */
const urlAs = (role: string) => {
  const url = new URL(databaseUrl);
  url.username = role;
  url.password = '';
  return url.toString();
};

describe('least privilege: each part of Herald with only the grants docs/security.md lists', () => {
  const tag = uniqueName('g').slice(2);
  const roles = {
    migrator: `herald_m_${tag}`,
    writer: `herald_w_${tag}`,
    relay: `herald_r_${tag}`,
    consumer: `herald_c_${tag}`,
  };
  const schema = `herald_grants_${tag}`;
  const admin = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const pools: pg.Pool[] = [];
  const poolAs = (role: string) => {
    const pool = new pg.Pool({ connectionString: urlAs(role), max: 6 });
    pool.on('error', () => {});
    pools.push(pool);
    return pool;
  };
  const Def = defineEvent({
    type: `security.grants.${tag}`,
    version: 1,
    schema: z.object({ n: z.number().int() }),
    key: (p) => String(p.n),
  });
  const transports: ReturnType<typeof kafka>[] = [];
  const transport = () => {
    const made = kafka({ brokers, sessionTimeoutMs: 6000 });
    transports.push(made);
    return made;
  };
  const write = async (pool: pg.Pool, ns: number[]) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await createOutbox({ schema }).add(
        client,
        ns.map((n) => Def({ n })),
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  };

  before(async () => {
    for (const role of Object.values(roles)) await admin.query(`CREATE ROLE "${role}" LOGIN`);
    // The superuser's part: the migrator may create the schema.
    for (const sql of grantsSql({ schema, migrator: roles.migrator })) await admin.query(sql);
  });
  after(async () => {
    for (const made of transports) await made.close();
    for (const pool of pools) await pool.end().catch(() => {});
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    for (const role of Object.values(roles)) {
      await admin.query(`DROP OWNED BY "${role}"`).catch(() => {});
      await admin.query(`DROP ROLE IF EXISTS "${role}"`);
    }
    await admin.end();
  });

  it('migrates as the migrator, then writes, relays and consumes (handled and dead-lettered) each with its own role', async () => {
    const migrator = poolAs(roles.migrator);
    await migrate(migrator, { schema });
    // The grants as users get them: `herald grants` prints grantsSql's statements, one a line.
    const printed = await run(process.execPath, [
      'src/cli/main.ts',
      'grants',
      ...['--schema', schema, '--writer', roles.writer, '--relay', roles.relay, '--consumer', roles.consumer],
    ]);
    const lines = printed.stdout.trimEnd().split('\n');
    assert.deepEqual(lines, grantsSql({ schema, writer: roles.writer, relay: roles.relay, consumer: roles.consumer }));
    for (const sql of lines) await migrator.query(sql);
    await write(poolAs(roles.writer), [1, 2, 3]);
    const relay = createRelay({
      db: poolAs(roles.relay),
      schema,
      transport: transport(),
      logger: silentLogger,
      retentionDays: 0,
    });
    assert.equal((await relay.drain()).published, 3);

    const handled: number[] = [];
    const consumerPool = poolAs(roles.consumer);
    const consumer = createConsumer({
      transport: transport(),
      group: uniqueName('grants'),
      db: consumerPool,
      schema,
      inboxRetentionDays: 0,
      retry: { attempts: 1 },
      logger: silentLogger,
    });
    consumer.on(Def, async (event) => {
      if (event.payload.n === 3) throw new NonRetriableError('three is refused');
      handled.push(event.payload.n);
    });
    await consumer.start();
    try {
      await waitFor(
        'two handled, one dead-lettered',
        () => handled.length === 2 && consumer.stats().deadLettered === 1,
      );
    } finally {
      await consumer.stop();
    }
    const dead = await createConsumerDeadLetters({ db: consumerPool, schema }).list();
    assert.equal(dead.length, 1);
  });

  it('without a needed grant: HERALD_PERMISSION_DENIED naming the table, and nothing written', async () => {
    const migrator = poolAs(roles.migrator);
    await migrator.query(`REVOKE INSERT ON "${schema}".log FROM "${roles.writer}"`);
    const before = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".log`);
    await assert.rejects(write(poolAs(roles.writer), [4]), (e: HeraldError) => {
      assert.ok(e instanceof HeraldError);
      assert.equal(e.code, 'HERALD_PERMISSION_DENIED');
      assert.match(e.message, /permission denied for table log/);
      return true;
    });
    const afterCount = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".log`);
    assert.equal(afterCount.rows[0].n, before.rows[0].n);

    await migrator.query(`REVOKE ALL ON "${schema}".cursors FROM "${roles.relay}"`);
    const relayTransport = transport();
    const relay = createRelay({
      db: poolAs(roles.relay),
      schema,
      transport: relayTransport,
      logger: silentLogger,
      retentionDays: 0,
    });
    await assert.rejects(relay.start(), (e: HeraldError) => {
      assert.equal(e.code, 'HERALD_PERMISSION_DENIED', e.message);
      assert.match(e.message, /permission denied for table cursors/);
      return true;
    });

    // A consumer with inbox retention on makes partitions, which only the owner may: said at start.
    const consumerTransport = transport();
    const consumer = createConsumer({
      transport: consumerTransport,
      group: uniqueName('grants'),
      db: poolAs(roles.consumer),
      schema,
    });
    consumer.on(Def, async () => {});
    await assert.rejects(consumer.start(), (e: HeraldError) => {
      assert.equal(e.code, 'HERALD_PERMISSION_DENIED', e.message);
      assert.match(e.message, /inbox/);
      return true;
    });
    await relayTransport.close();
    await consumerTransport.close();
  });

  it('grantsSql and `herald grants` check every name by the one identifier rule', async () => {
    for (const bad of ['Robert"; DROP TABLE x; --', 'a b', 'ünïcode', '', 'x'.repeat(64)]) {
      assert.throws(() => grantsSql({ schema, writer: bad }), { code: 'HERALD_INVALID_IDENTIFIER' });
      assert.throws(() => grantsSql({ schema: bad, writer: 'w' }), { code: 'HERALD_INVALID_IDENTIFIER' });
    }
    assert.throws(() => grantsSql({ schema }), { code: 'HERALD_INVALID_CONFIG' });
    for (const args of [['--reader', 'Robert"; DROP TABLE x; --'], ['--schema', 'a b', '--writer', 'w'], []]) {
      const r = await run(process.execPath, ['src/cli/main.ts', 'grants', ...args]).then(
        () => assert.fail(`herald grants ${args.join(' ')} was not refused`),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '', 'nothing printed to run');
      assert.match(
        r.stderr,
        /^herald grants: HERALD_INVALID_CONFIG: (--reader|--schema|grants: name at least one role)/,
      );
    }
  });
});
