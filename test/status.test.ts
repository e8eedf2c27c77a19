import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { z } from 'zod';
import { createOutbox, defineEvent, getStatus, type HeraldStatus, isHeraldError } from '../src/index.ts';
import { assessStatus, defaultThresholds } from '../src/status/status.ts';
import { insertConsumerDeadLetter } from '../src/store/sql/consumer-dead-letters.ts';
import { recordLag } from '../src/store/sql/consumer-lag.ts';
import { databaseUrl, freshSchema, inTransaction, type TestSchema, uniqueName } from './support/env.ts';
import { waitFor } from './support/relay-process.ts';

const run = promisify(execFile);

const Ticked = defineEvent({
  type: 'status.ticked',
  version: 1,
  schema: z.object({ key: z.string(), n: z.number(), note: z.string().optional() }),
  key: (p) => p.key,
});

const schemas: TestSchema[] = [];
async function schemaForTest(): Promise<TestSchema> {
  const db = await freshSchema();
  schemas.push(db);
  return db;
}

/** Commits `count` events in one transaction each, spread over keys (and so over shards). */
async function writeEvents(db: TestSchema, count: number, time?: Date): Promise<void> {
  const outbox = createOutbox({ schema: db.schema });
  for (let n = 0; n < count; n++) {
    const event = Ticked({ key: `k${n % 7}`, n }, time ? { time } : {});
    await inTransaction(db.pool, (tx) => outbox.add(tx, event));
  }
}

/** What the relay does at start (one cursor row per shard), then "publishes" up to the k-th event. */
async function moveCursors(db: TestSchema, publishedCount: number): Promise<void> {
  const s = `"${db.schema}"`;
  await db.pool.query(
    `INSERT INTO ${s}.cursors (shard) SELECT generate_series(0, st.shard_count - 1) FROM ${s}.settings st ON CONFLICT DO NOTHING`,
  );
  if (publishedCount === 0) return;
  await db.pool.query(
    `UPDATE ${s}.cursors c SET xid = p.xid, seq = p.seq, updated_at = now()
FROM (SELECT l.xid, l.seq FROM ${s}.log l ORDER BY l.xid, l.seq OFFSET $1::int - 1 LIMIT 1) p`,
    [publishedCount],
  );
}

async function insertDeadLetter(
  db: TestSchema,
  row: { type: string; errorCode: string; status?: string; failedSecondsAgo?: number },
): Promise<void> {
  await db.pool.query(
    `INSERT INTO "${db.schema}".dead_letters (id, xid, seq, type, version, source, partition_key, shard, destination,
  payload, created_at, error_code, error_message, attempts, first_failed_at, status)
VALUES ($1, '1', 1, $2, 1, '/test', 'k', 0, 'some.topic', '{}', now(), $3, 'refused', 5,
  now() - make_interval(secs => $4::float8), $5)`,
    [randomUUID(), row.type, row.errorCode, row.failedSecondsAgo ?? 0, row.status ?? 'pending'],
  );
}

/** A message consumer group `group` gave up on; `status` as an operator or a consumer left it. */
async function insertConsumerDeadLetterRow(
  db: TestSchema,
  group: string,
  status: 'pending' | 'retrying' | 'retried' | 'discarded' = 'pending',
): Promise<void> {
  const id = randomUUID();
  await insertConsumerDeadLetter(db.pool, db.schema, {
    group,
    messageId: id,
    eventType: 'order.placed',
    topic: 'orders',
    partition: 0,
    offset: '7',
    key: 'o-1',
    headers: {},
    body: Buffer.from('{}'),
    error: { code: 'HERALD_HANDLER_FAILED', message: 'Error: no' },
    attempts: 3,
  });
  if (status !== 'pending') {
    await db.pool.query(
      `UPDATE "${db.schema}".consumer_dead_letters SET status = $3 WHERE consumer_group = $1 AND message_id = $2`,
      [group, id, status],
    );
  }
}

/** What two consumer groups stored: billing behind on two partitions, emails caught up. */
async function recordConsumerLag(db: TestSchema): Promise<void> {
  await recordLag(db.pool, db.schema, 'billing', [
    { topic: 'orders', partition: 0, committed: '100', end: '1300', lag: 1200 },
    { topic: 'orders', partition: 1, committed: null, end: '34', lag: 34 },
    { topic: 'orders', partition: 2, committed: '5', end: '5', lag: 0 },
  ]);
  await recordLag(db.pool, db.schema, 'emails', [
    { topic: 'orders', partition: 0, committed: '1300', end: '1300', lag: 0 },
  ]);
}

/** Per shard, the events after the shard's cursor, computed independently of the status query. */
async function expectedBacklog(db: TestSchema): Promise<Map<number, number>> {
  const s = `"${db.schema}"`;
  const rows = await db.pool.query<{ shard: number; n: string }>(
    `SELECT l.shard, count(*) AS n FROM ${s}.log l
LEFT JOIN ${s}.cursors c ON c.shard = l.shard
WHERE c.shard IS NULL OR (l.xid, l.seq) > (c.xid, c.seq)
GROUP BY l.shard`,
  );
  return new Map(rows.rows.map((r) => [r.shard, Number(r.n)]));
}

function backlogByShard(status: HeraldStatus): Map<number, number> {
  return new Map(status.backlog.shards.filter((s) => s.events > 0).map((s) => [s.shard, s.events]));
}

// Other sessions on the same server (other test files, other work) may hold a transaction open
// for a moment; assertions of health leave room for that.
const patient = { maxTransactionSeconds: 3600 };

describe('getStatus', () => {
  after(async () => {
    for (const db of schemas) await db.drop();
  });

  it('counts the backlog per shard after each shard cursor, listing every shard', async () => {
    const db = await schemaForTest();
    const empty = await getStatus({ db: db.pool, schema: db.schema, ...patient });
    assert.equal(empty.backlog.events, 0);
    assert.equal(empty.backlog.oldestAgeSeconds, null);
    assert.equal(empty.backlog.shards.length, 64, 'every shard, even before a relay created its cursors');
    assert.deepEqual(empty.backlog.shards[0]?.cursor, { xid: '0', seq: '0', updatedAt: null });
    assert.equal(empty.healthy, true, empty.problems.join('; '));

    await writeEvents(db, 30);
    const before = await getStatus({ db: db.pool, schema: db.schema, ...patient });
    assert.equal(before.backlog.events, 30, 'no relay ran: everything is backlog');
    assert.deepEqual(backlogByShard(before), await expectedBacklog(db));
    assert.equal(before.backlog.shardsWithBacklog, (await expectedBacklog(db)).size);
    assert.ok(before.backlog.oldestAgeSeconds !== null && before.backlog.oldestAgeSeconds < 30);

    await moveCursors(db, 12);
    const status = await getStatus({ db: db.pool, schema: db.schema, ...patient });
    assert.equal(status.backlog.events, 18);
    assert.deepEqual(backlogByShard(status), await expectedBacklog(db));
    assert.ok(status.backlog.heldBack <= status.backlog.events);
    assert.deepEqual(
      status.backlog.shards.map((s) => s.shard),
      Array.from({ length: 64 }, (_, i) => i),
    );
    const moved = status.backlog.shards[5]?.cursor;
    assert.ok(moved?.updatedAt instanceof Date);
    assert.notEqual(moved?.xid, '0');

    // One shard published further than the others: only its count changes.
    const busiest = [...backlogByShard(status)].sort((a, b) => b[1] - a[1])[0]?.[0] as number;
    await db.pool.query(
      `UPDATE "${db.schema}".cursors c SET xid = p.xid, seq = p.seq
FROM (SELECT l.xid, l.seq FROM "${db.schema}".log l ORDER BY l.xid DESC, l.seq DESC LIMIT 1) p WHERE c.shard = $1`,
      [busiest],
    );
    const later = await getStatus({ db: db.pool, schema: db.schema, ...patient });
    assert.equal(later.backlog.shards[busiest]?.events, 0);
    assert.deepEqual(backlogByShard(later), await expectedBacklog(db));

    // Everything published: nothing waits.
    await moveCursors(db, 30);
    const done = await getStatus({ db: db.pool, schema: db.schema, ...patient });
    assert.equal(done.backlog.events, 0);
    assert.equal(done.backlog.shardsWithBacklog, 0);
  });

  it('measures events per second written and published in the last minute', async () => {
    const db = await schemaForTest();
    await writeEvents(db, 12);
    await writeEvents(db, 5, new Date(Date.now() - 10 * 60_000)); // written long ago: outside the window
    await moveCursors(db, 6);
    const status = await getStatus({ db: db.pool, schema: db.schema, ...patient });
    assert.equal(status.rates.windowSeconds, 60);
    assert.equal(status.rates.writtenPerSecond, Math.round((12 / 60) * 100) / 100);
    assert.equal(status.rates.publishedPerSecond, Math.round((6 / 60) * 100) / 100);
  });

  it('reports the age of the oldest unpublished event against maxLagSeconds', async () => {
    const db = await schemaForTest();
    await writeEvents(db, 2, new Date(Date.now() - 120_000));
    await writeEvents(db, 3);
    const status = await getStatus({ db: db.pool, schema: db.schema, ...patient });
    const age = status.backlog.oldestAgeSeconds ?? 0;
    assert.ok(age >= 119 && age < 180, `oldest is ${age} s`);
    assert.equal(status.healthy, false);
    assert.deepEqual(status.problems, ['oldest unpublished event is 2 min old (5 events unpublished)']);
    const lenient = await getStatus({ db: db.pool, schema: db.schema, maxLagSeconds: 600, ...patient });
    assert.equal(lenient.healthy, true, lenient.problems.join('; '));
  });

  it('names the open transaction that holds events back, with its pid and query, never its parameters', async () => {
    const db = await schemaForTest();
    const outbox = createOutbox({ schema: db.schema });
    const slow = await db.pool.connect();
    try {
      await slow.query(`SET application_name = 'status-test-slow'`);
      const pid = (await slow.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      await slow.query('BEGIN');
      await outbox.add(slow, Ticked({ key: 'slow', n: 0, note: 'secret-parameter-value' }));
      await writeEvents(db, 5); // committed after the slow transaction took its xid: held back

      let status: HeraldStatus | undefined;
      // Another session's older transaction on this server would be named instead; wait it out.
      await waitFor('the slow transaction to be named', async () => {
        status = await getStatus({ db: db.pool, schema: db.schema, maxTransactionSeconds: 0 });
        return status.openTransaction?.pid === pid;
      });
      const s = status as HeraldStatus;
      const tx = s.openTransaction;
      assert.ok(tx);
      assert.equal(s.backlog.events, 5, 'the open transaction own event is not committed, so not counted');
      assert.equal(s.backlog.heldBack, 5);
      assert.equal(
        s.backlog.shards.reduce((n, sh) => n + sh.heldBack, 0),
        5,
      );
      assert.equal(tx.heldBack, 5);
      assert.equal(tx.state, 'idle in transaction');
      assert.equal(tx.applicationName, 'status-test-slow');
      assert.equal(tx.xid, s.backlog.snapshotXmin);
      assert.ok(tx.ageSeconds !== null && tx.ageSeconds >= 0);
      assert.ok(tx.transactionStart instanceof Date && tx.queryStart instanceof Date);
      assert.match(tx.query ?? '', /^INSERT INTO/);
      assert.ok((tx.query ?? '').length <= 120);
      assert.doesNotMatch(JSON.stringify(s), /secret-parameter-value/);
      assert.equal(s.healthy, false);
      assert.match(s.problems[0] ?? '', new RegExp(`^transaction pid ${pid} open for .+ holds back 5 events$`));

      // Below the threshold it is still named (it holds events back), but not a problem.
      const young = await getStatus({ db: db.pool, schema: db.schema, maxTransactionSeconds: 3600 });
      if (young.openTransaction?.pid === pid) {
        assert.ok(!young.problems.some((p) => p.startsWith('transaction pid')));
      }

      await slow.query('COMMIT');
      const after = await getStatus({ db: db.pool, schema: db.schema, ...patient });
      assert.equal(after.backlog.events, 6, 'its event is committed now');
      assert.notEqual(after.openTransaction?.pid, pid);
    } finally {
      await slow.query('ROLLBACK').catch(() => {});
      slow.release();
    }
  });

  it('counts pending dead letters by type and error code, with the oldest age', async () => {
    const db = await schemaForTest();
    await insertDeadLetter(db, {
      type: 'order.placed',
      errorCode: 'HERALD_INVALID_DESTINATION',
      failedSecondsAgo: 600,
    });
    await insertDeadLetter(db, { type: 'order.placed', errorCode: 'HERALD_INVALID_DESTINATION' });
    await insertDeadLetter(db, { type: 'order.paid', errorCode: 'HERALD_MESSAGE_TOO_LARGE' });
    await insertDeadLetter(db, { type: 'order.paid', errorCode: 'HERALD_MESSAGE_TOO_LARGE', status: 'retried' });
    await insertDeadLetter(db, { type: 'order.paid', errorCode: 'HERALD_MESSAGE_TOO_LARGE', status: 'discarded' });

    const status = await getStatus({ db: db.pool, schema: db.schema, ...patient });
    assert.equal(status.deadLetters.pending, 3);
    assert.deepEqual(status.deadLetters.top, [
      { type: 'order.placed', errorCode: 'HERALD_INVALID_DESTINATION', count: 2 },
      { type: 'order.paid', errorCode: 'HERALD_MESSAGE_TOO_LARGE', count: 1 },
    ]);
    const age = status.deadLetters.oldestAgeSeconds ?? 0;
    assert.ok(age >= 599 && age < 660, `oldest is ${age} s`);
    assert.deepEqual(status.problems, ['3 dead letters pending']);

    const tolerant = await getStatus({ db: db.pool, schema: db.schema, maxDeadLetters: 3, ...patient });
    assert.equal(tolerant.healthy, true, tolerant.problems.join('; '));
  });

  it('shows each consumer group: its stored lag per partition, its age, and its dead letters', async () => {
    const db = await schemaForTest();
    const none = await getStatus({ db: db.pool, schema: db.schema, ...patient });
    assert.deepEqual(none.consumers, []);
    assert.equal(none.thresholds.maxConsumerLag, null, 'consumer lag is not judged unless asked');

    await recordConsumerLag(db);
    await insertConsumerDeadLetterRow(db, 'billing');
    await insertConsumerDeadLetterRow(db, 'billing', 'retrying');
    await insertConsumerDeadLetterRow(db, 'billing', 'retried');
    await insertConsumerDeadLetterRow(db, 'shipping'); // dead letters, but no consumer stored lag
    await insertConsumerDeadLetterRow(db, 'shipping');
    await insertConsumerDeadLetterRow(db, 'shipping', 'discarded');
    await db.pool.query(
      `UPDATE "${db.schema}".consumer_lag SET measured_at = now() - interval '90 seconds' WHERE consumer_group = 'emails'`,
    );

    const status = await getStatus({ db: db.pool, schema: db.schema, ...patient });
    assert.deepEqual(
      status.consumers.map((c) => [c.group, c.lag, c.deadLetters.pending, c.deadLetters.retrying]),
      [
        ['billing', 1234, 1, 1],
        ['emails', 0, 0, 0],
        ['shipping', null, 2, 0],
      ],
    );
    const [billing, emails, shipping] = status.consumers;
    assert.deepEqual(
      billing?.partitions.map(({ measuredAgeSeconds: _, ...p }) => p),
      [
        { topic: 'orders', partition: 0, committed: '100', end: '1300', lag: 1200 },
        { topic: 'orders', partition: 1, committed: null, end: '34', lag: 34 },
        { topic: 'orders', partition: 2, committed: '5', end: '5', lag: 0 },
      ],
    );
    assert.ok(billing?.measuredAt instanceof Date);
    assert.ok((billing?.measuredAgeSeconds ?? -1) >= 0 && (billing?.measuredAgeSeconds ?? 99) < 30);
    const stale = emails?.measuredAgeSeconds ?? 0;
    assert.ok(stale >= 89 && stale < 150, `emails measured ${stale} s ago`);
    assert.deepEqual(shipping?.partitions, []);
    assert.equal(shipping?.measuredAgeSeconds, null);
    assert.ok((shipping?.deadLetters.oldestAgeSeconds ?? -1) >= 0);

    // Pending consumer dead letters count against maxDeadLetters, with the relay's.
    assert.equal(status.deadLetters.pending, 0);
    assert.deepEqual(status.problems, ['3 dead letters pending (group shipping 2, group billing 1)']);
    await insertDeadLetter(db, { type: 'order.placed', errorCode: 'HERALD_INVALID_DESTINATION' });
    const mixed = await getStatus({ db: db.pool, schema: db.schema, maxDeadLetters: 3, ...patient });
    assert.deepEqual(mixed.problems, ['4 dead letters pending (relay 1, group shipping 2, group billing 1)']);
    const tolerant = await getStatus({ db: db.pool, schema: db.schema, maxDeadLetters: 4, ...patient });
    assert.equal(tolerant.healthy, true, tolerant.problems.join('; '));

    // maxConsumerLag: a group's lag over its partitions; at the limit is still healthy.
    const behind = await getStatus({
      db: db.pool,
      schema: db.schema,
      maxDeadLetters: 4,
      maxConsumerLag: 1000,
      ...patient,
    });
    assert.equal(behind.healthy, false);
    assert.match(behind.problems[0] ?? '', /^consumer group billing is 1,234 messages behind \(measured .+ ago\)$/);
    assert.equal(behind.problems.length, 1);
    const atLimit = await getStatus({
      db: db.pool,
      schema: db.schema,
      maxDeadLetters: 4,
      maxConsumerLag: 1234,
      ...patient,
    });
    assert.equal(atLimit.healthy, true, atLimit.problems.join('; '));
    const off = await getStatus({
      db: db.pool,
      schema: db.schema,
      maxDeadLetters: 4,
      maxConsumerLag: null,
      ...patient,
    });
    assert.equal(off.healthy, true, off.problems.join('; '));
    const bad = await getStatus({ db: db.pool, schema: db.schema, maxConsumerLag: -1 }).catch((e: unknown) => e);
    assert.ok(isHeraldError(bad, 'HERALD_INVALID_CONFIG'), String(bad));
  });

  it('works from a connection string: an example', async () => {
    const db = await schemaForTest();
    await insertDeadLetter(db, { type: 'order.placed', errorCode: 'HERALD_INVALID_DESTINATION' });
    const schema = db.schema;
    // #region api
    const status = await getStatus({ db: databaseUrl, schema, maxLagSeconds: 30 });
    if (!status.healthy) {
      // e.g. ['1 dead letter pending']; status.backlog, .rates, .deadLetters, .openTransaction say more
      assert.deepEqual(status.problems, ['1 dead letter pending']);
    }
    // #endregion api
    assert.equal(status.healthy, false);
    assert.equal(status.thresholds.maxLagSeconds, 30);
  });

  it('fails with HERALD_NOT_MIGRATED, HERALD_DATABASE_UNAVAILABLE and HERALD_INVALID_CONFIG', async () => {
    const missing = await getStatus({ db: databaseUrl, schema: uniqueName('herald_none') }).catch((e: unknown) => e);
    assert.ok(isHeraldError(missing, 'HERALD_NOT_MIGRATED'), String(missing));
    const down = await getStatus({ db: 'postgres://postgres:pw@127.0.0.1:1/test' }).catch((e: unknown) => e);
    assert.ok(isHeraldError(down, 'HERALD_DATABASE_UNAVAILABLE'), String(down));
    assert.doesNotMatch((down as Error).message, /pw/);
    const bad = await getStatus({ db: databaseUrl, maxLagSeconds: -1 }).catch((e: unknown) => e);
    assert.ok(isHeraldError(bad, 'HERALD_INVALID_CONFIG'), String(bad));
  });
});

describe('assessStatus', () => {
  const quiet = {
    backlog: {
      events: 0,
      heldBack: 0,
      shardsWithBacklog: 0,
      oldestAgeSeconds: null,
      heldBackOldestAgeSeconds: null,
      snapshotXmin: '900',
      shards: [],
    },
    deadLetters: { pending: 0, oldestAgeSeconds: null, top: [] },
    openTransaction: null,
  };

  it('is quiet when nothing exceeds a threshold, limits included', () => {
    assert.deepEqual(assessStatus(quiet), []);
    const atLimits = {
      ...quiet,
      backlog: { ...quiet.backlog, events: 3, shardsWithBacklog: 1, oldestAgeSeconds: 60 },
    };
    assert.deepEqual(assessStatus(atLimits, defaultThresholds), []);
  });

  it("judges consumer groups only when given: lag against maxConsumerLag, dead letters with the relay's", () => {
    const group = (name: string, lag: number | null, pending: number) => ({
      group: name,
      lag,
      measuredAt: null,
      measuredAgeSeconds: lag === null ? null : 2,
      partitions: [],
      deadLetters: { pending, retrying: 0, oldestAgeSeconds: null },
    });
    const consumers = [group('a', 50, 0), group('b', 5000, 0), group('c', null, 0)];
    assert.deepEqual(assessStatus({ ...quiet, consumers }), [], 'no maxConsumerLag: not judged');
    assert.deepEqual(assessStatus({ ...quiet, consumers }, { maxConsumerLag: 50 }), [
      'consumer group b is 5,000 messages behind (measured 2.0 s ago)',
    ]);
    const letters = [group('a', 0, 1), group('b', 0, 0)];
    assert.deepEqual(assessStatus({ ...quiet, consumers: letters }), ['1 dead letter pending (group a 1)']);
    assert.deepEqual(assessStatus({ ...quiet, consumers: letters }, { maxDeadLetters: 1 }), []);
  });

  it('explains events held back by a transaction no session shows', () => {
    const hidden = {
      ...quiet,
      backlog: { ...quiet.backlog, events: 5000, heldBack: 5000, oldestAgeSeconds: 30, heldBackOldestAgeSeconds: 30 },
    };
    assert.deepEqual(assessStatus(hidden), [
      '5,000 events held back by transaction xid 900, which pg_stat_activity does not show (a prepared transaction, or this role lacks pg_read_all_stats)',
    ]);
  });
});

describe('herald status', () => {
  const cli = (schema: string, args: string[], url = databaseUrl) =>
    run(process.execPath, ['src/cli/main.ts', 'status', ...args], {
      env: { ...process.env, DATABASE_URL: url, HERALD_SCHEMA: schema },
    });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => assert.fail('expected a non-zero exit'),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('--json prints one object; --check exits 1 only when unhealthy', async () => {
    const db = await schemaForTest();
    await writeEvents(db, 3);
    const healthy = await cli(db.schema, ['--json', '--check', '--max-transaction-seconds', '3600']);
    const status = JSON.parse(healthy.stdout);
    assert.equal(status.schema, db.schema);
    assert.equal(status.healthy, true, status.problems.join('; '));
    assert.equal(status.backlog.events, 3);
    assert.equal(status.backlog.shards.length, 64, '--json lists every shard');

    await insertDeadLetter(db, { type: 'order.placed', errorCode: 'HERALD_INVALID_DESTINATION' });
    const unhealthy = await failure(cli(db.schema, ['--json', '--check']));
    assert.equal(unhealthy.code, 1);
    assert.equal(JSON.parse(unhealthy.stdout).healthy, false);

    const report = await cli(db.schema, ['--max-transaction-seconds', '3600']);
    assert.match(report.stdout, /UNHEALTHY/);
    assert.match(report.stdout, /! 1 dead letter pending/);
    assert.match(report.stdout, /backlog +3 events in \d+ of 64 shards/);
    assert.match(report.stdout, /order\.placed +HERALD_INVALID_DESTINATION/);
    const tolerant = await cli(db.schema, ['--check', '--max-dead-letters', '1', '--max-transaction-seconds', '3600']);
    assert.match(tolerant.stdout, /: healthy/);
  });

  it('shows consumer groups in the report and in --json; --max-consumer-lag flips --check', async () => {
    const db = await schemaForTest();
    await recordConsumerLag(db);
    await insertConsumerDeadLetterRow(db, 'billing');
    const lenient = ['--max-transaction-seconds', '3600', '--max-dead-letters', '1'];
    const json = await cli(db.schema, ['--json', '--check', ...lenient]);
    const status = JSON.parse(json.stdout);
    assert.equal(status.healthy, true, status.problems.join('; '));
    assert.equal(status.thresholds.maxConsumerLag, null);
    assert.deepEqual(
      status.consumers.map((c: { group: string; lag: number }) => [c.group, c.lag]),
      [
        ['billing', 1234],
        ['emails', 0],
      ],
    );
    assert.equal(status.consumers[0].partitions[1].committed, null);
    assert.equal(status.consumers[0].deadLetters.pending, 1);
    assert.equal(typeof status.consumers[0].measuredAgeSeconds, 'number');

    const behind = await failure(cli(db.schema, ['--json', '--check', ...lenient, '--max-consumer-lag', '1000']));
    assert.equal(behind.code, 1);
    const unhealthy = JSON.parse(behind.stdout);
    assert.equal(unhealthy.thresholds.maxConsumerLag, 1000);
    assert.match(unhealthy.problems[0], /^consumer group billing is 1,234 messages behind/);

    const report = await cli(db.schema, [...lenient, '--max-consumer-lag', '1000']);
    assert.match(report.stdout, /! consumer group billing is 1,234 messages behind/);
    assert.match(report.stdout, /dead letters +none pending from the relay; 1 from consumer groups \(below\)/);
    assert.match(report.stdout, /consumers +2 groups, 1,234 messages behind, 1 dead letter pending/);
    assert.match(report.stdout, /billing +1,234 +[\d.]+ s ago +1 pending/);
    assert.match(report.stdout, /emails +0 +[\d.]+ s ago +none/);
    assert.match(report.stdout, /billing +orders +0 +100 +1300 +1,200/);
    assert.doesNotMatch(report.stdout, /billing +orders +2 /, 'partitions caught up are not listed');

    const strict = await failure(cli(db.schema, ['--check', '--max-transaction-seconds', '3600']));
    assert.match(strict.stdout, /! 1 dead letter pending \(group billing 1\)/);
    const bad = await failure(cli(db.schema, ['--max-consumer-lag', '-5']));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-consumer-lag/);
  });

  it('names the error: not migrated, database down, bad threshold', async () => {
    const missing = await failure(cli(uniqueName('herald_none'), []));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /HERALD_NOT_MIGRATED/);
    const down = await failure(cli('herald', [], 'postgres://postgres@127.0.0.1:1/test'));
    assert.equal(down.code, 1);
    assert.match(down.stderr, /HERALD_DATABASE_UNAVAILABLE/);
    const bad = await failure(cli('herald', ['--max-lag-seconds', 'soon']));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-lag-seconds/);
  });
});
