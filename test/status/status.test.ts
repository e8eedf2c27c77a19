import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOutbox, getStatus, type HeraldStatus, isHeraldError } from '../../src/index.ts';
import { recordLag } from '../../src/store/sql/consumer-lag.ts';
import { databaseUrl, uniqueName } from '../support/env.ts';
import { waitFor } from '../support/relay-process.ts';
import {
  backlogByShard,
  expectedBacklog,
  insertConsumerDeadLetterRow,
  insertDeadLetter,
  moveCursors,
  patient,
  recordConsumerLag,
  schemasForFile,
  Ticked,
  writeEvents,
} from '../support/status.ts';

const schemaForTest = schemasForFile();

describe('getStatus', () => {
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

  it('keeps lag as each broker gives it: positions that are not numbers, and counts alone', async () => {
    const db = await schemaForTest();
    // PostgreSQL as the broker: positions are `xid:seq`; RabbitMQ and SQS only count.
    await recordLag(db.pool, db.schema, 'ledger', [
      { topic: 'orders', partition: 0, committed: '1234:7', end: '1240:2', lag: 9 },
    ]);
    await recordLag(db.pool, db.schema, 'mailer', [{ topic: 'orders', partition: 0, lag: 4 }]);
    const status = await getStatus({ db: db.pool, schema: db.schema, ...patient });
    const partitions = (group: string) =>
      status.consumers.find((c) => c.group === group)?.partitions.map(({ measuredAgeSeconds: _, ...p }) => p);
    assert.deepEqual(partitions('ledger'), [
      { topic: 'orders', partition: 0, committed: '1234:7', end: '1240:2', lag: 9 },
    ]);
    assert.deepEqual(partitions('mailer'), [{ topic: 'orders', partition: 0, committed: null, end: null, lag: 4 }]);
  });
});
