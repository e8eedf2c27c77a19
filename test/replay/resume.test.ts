// Replay checkpoints: a replay stopped by a signal, an error or SIGKILL resumes where its last
// acknowledged page ended, with its own slice and id (`replayEvents({ resume })`,
// `herald replay --resume`).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { z } from 'zod';
import { createOutbox, defineEvent, isHeraldError, type ReplayResult, replayEvents } from '../../src/index.ts';
import { findReplay, lockReplay, unlockReplay } from '../../src/store/sql/replays.ts';
import { memoryTransport } from '../../src/testing/index.ts';
import type { Transport } from '../../src/transports/transport.ts';
import { brokers, databaseUrl, freshSchema, inTransaction, type TestSchema } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';

const run = promisify(execFile);

const Moved = defineEvent({
  type: 'stock.moved',
  version: 1,
  schema: z.object({ sku: z.string(), n: z.number().int() }),
  key: (p) => p.sku,
});

/** A replay from `from` stopped by a signal after its first page. */
function replayOnePage(db: TestSchema, transport: Transport, from: Date, pageSize: number): Promise<ReplayResult> {
  const stopper = new AbortController();
  return replayEvents({
    db: db.pool,
    schema: db.schema,
    transport,
    from,
    pageSize,
    signal: stopper.signal,
    onProgress: (done) => {
      if (done > 0) stopper.abort();
    },
  });
}

describe('replay --resume', () => {
  let db: TestSchema;
  const ids: string[] = [];
  const from = new Date(Date.now() - 3_600_000);

  before(async () => {
    db = await freshSchema();
    const outbox = createOutbox({ schema: db.schema, source: '/stock' });
    for (let t = 0; t < 12; t++) {
      await inTransaction(db.pool, async (tx) => {
        const events = Array.from({ length: 10 }, (_, i) => Moved({ sku: `sku-${i % 4}`, n: t * 10 + i }));
        await outbox.add(tx, events);
        ids.push(...events.map((e) => e.id));
      });
    }
  });
  after(() => db?.drop());

  it('a replay stopped by a signal resumes after its last page, with its id and slice, publishing each event once', async () => {
    const memory = memoryTransport();
    const first = await replayOnePage(db, memory, from, 50);
    assert.equal(first.complete, false);
    assert.equal(first.published, 50);
    const saved = await findReplay(db.pool, db.schema, first.replayId);
    assert.equal(saved?.state, 'stopped');
    assert.equal(saved?.published, 50);

    const second = await replayEvents({ db: db.pool, schema: db.schema, transport: memory, resume: true });
    assert.equal(second.replayId, first.replayId);
    assert.equal(second.resumedFrom, 50);
    assert.equal(second.published, ids.length);
    assert.equal(second.complete, true);
    assert.deepEqual(second.byType, { 'stock.moved': ids.length });
    assert.deepEqual(
      memory.messages.map((m) => m.id),
      ids,
      'every event once, in log order, across both runs',
    );
    assert.ok(memory.messages.every((m) => m.headers['herald-replay'] === first.replayId));
    assert.equal((await findReplay(db.pool, db.schema, first.replayId))?.state, 'complete');

    await assert.rejects(
      replayEvents({ db: db.pool, schema: db.schema, transport: memory, resume: first.replayId }),
      (e: unknown) => isHeraldError(e, 'HERALD_REPLAY_NOT_FOUND') && /completed/.test((e as Error).message),
    );
  });

  it('a replay that failed on the broker is recorded as failed and resumes once the broker is back', async () => {
    const memory = memoryTransport();
    memory.failNext(1000);
    const failed = await replayEvents({
      db: db.pool,
      schema: db.schema,
      transport: memory,
      from,
      pageSize: 40,
    }).then(
      () => assert.fail('the replay should have failed'),
      (e: unknown) => e as Error & { details: { replayId: string } },
    );
    assert.match(failed.message, /herald replay --resume/);
    const saved = await findReplay(db.pool, db.schema, failed.details.replayId);
    assert.equal(saved?.state, 'failed');
    assert.ok(saved?.error);

    const healthy = memoryTransport();
    const resumed = await replayEvents({ db: db.pool, schema: db.schema, transport: healthy, resume: saved?.id });
    assert.equal(resumed.complete, true);
    assert.deepEqual(
      healthy.messages.map((m) => m.id),
      ids,
    );
  });

  it('refuses what cannot be resumed with typed errors', async () => {
    const memory = memoryTransport();
    await assert.rejects(
      replayEvents({
        db: db.pool,
        schema: db.schema,
        transport: memory,
        resume: '0190a8f2-0000-7000-8000-000000000000',
      }),
      (e: unknown) => isHeraldError(e, 'HERALD_REPLAY_NOT_FOUND'),
    );
    await assert.rejects(
      replayEvents({ db: db.pool, schema: db.schema, transport: memory, resume: true, from }),
      (e: unknown) => isHeraldError(e, 'HERALD_INVALID_CONFIG') && /from must be absent/.test((e as Error).message),
    );
    await assert.rejects(
      replayEvents({ db: db.pool, schema: db.schema, transport: memory, resume: 'not-an-id' as never }),
      (e: unknown) => isHeraldError(e, 'HERALD_INVALID_CONFIG'),
    );

    // A replay another process runs (its session lock is held) is not resumed twice at once.
    const stopper = new AbortController();
    stopper.abort();
    const stopped = await replayEvents({
      db: db.pool,
      schema: db.schema,
      transport: memory,
      from,
      signal: stopper.signal,
    });
    const holder = await db.pool.connect();
    try {
      assert.equal(await lockReplay(holder, stopped.replayId), true);
      await assert.rejects(
        replayEvents({ db: db.pool, schema: db.schema, transport: memory, resume: stopped.replayId }),
        (e: unknown) => isHeraldError(e, 'HERALD_REPLAY_RUNNING'),
      );
    } finally {
      // Unlocked, not left to the session's end: a closed connection's backend lets go of its
      // locks a moment later, and the resume below would find it still held.
      await unlockReplay(holder, stopped.replayId);
      holder.release();
    }
    const done = await replayEvents({ db: db.pool, schema: db.schema, transport: memory, resume: stopped.replayId });
    assert.equal(done.published, ids.length);
  });

  it('herald replay --resume finishes a replay whose process was SIGKILLed: nothing missing, at most a page twice', async () => {
    const topic = await createTopic(3, 'herald-replay-resume');
    const env = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: brokers.join(','),
      HERALD_SCHEMA: db.schema,
    };
    const pageSize = 5;
    const args = ['src/cli/main.ts', 'replay', '--from', '2h', '--destination', topic, '--page-size', String(pageSize)];
    const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Killed once it has published some pages and before it ends.
    let replayId: string | undefined;
    for (let i = 0; i < 600 && replayId === undefined; i++) {
      const r = await db.pool.query<{ id: string }>(
        `SELECT id FROM "${db.schema}".replays WHERE state = 'running' AND published >= $1 AND slice->>'destination' = $2`,
        [pageSize * 2, topic],
      );
      replayId = r.rows[0]?.id;
      if (replayId === undefined) await sleep(20);
    }
    child.kill('SIGKILL');
    await exited;
    assert.ok(replayId, 'the replay recorded progress before it was killed');
    const saved = await findReplay(db.pool, db.schema, replayId);
    assert.equal(saved?.state, 'running', 'a killed replay could not record its end');
    assert.ok((saved?.published ?? 0) < ids.length, 'killed before the end');

    const { stdout } = await run(
      process.execPath,
      ['src/cli/main.ts', 'replay', '--resume', '--replay-id', replayId, '--json'],
      { env },
    );
    const summary = JSON.parse(stdout.trim()) as ReplayResult;
    assert.equal(summary.complete, true);
    assert.equal(summary.replayId, replayId);
    assert.equal(summary.published, ids.length);

    const messages = await readTopic(topic, ids.length, { settleMs: 1000 });
    const seen = messages.map((m) => m.headers.ce_id as string);
    assert.deepEqual(new Set(seen), new Set(ids), 'every event of the slice is in the topic');
    assert.ok(seen.length - ids.length <= pageSize, `at most the page in flight twice (${seen.length - ids.length})`);
    assert.ok(messages.every((m) => m.headers['herald-replay'] === replayId));
  });
});

describe('replay while an older transaction is open', () => {
  let db: TestSchema;
  after(() => db?.drop());

  it('the slice holds every event committed when it began, above the oldest open transaction too, and keeps it when resumed', async () => {
    db = await freshSchema();
    // A writer's transaction that began first and stays open (anywhere in the server, as another
    // service's would): the events below commit above it.
    const older = await db.pool.connect();
    try {
      await older.query('BEGIN');
      await older.query('SELECT pg_current_xact_id()');
      const outbox = createOutbox({ schema: db.schema, source: '/stock' });
      const ids: string[] = [];
      for (let t = 0; t < 3; t++) {
        await inTransaction(db.pool, async (tx) => {
          const events = Array.from({ length: 10 }, (_, i) => Moved({ sku: `sku-${i % 4}`, n: t * 10 + i }));
          await outbox.add(tx, events);
          ids.push(...events.map((e) => e.id));
        });
      }
      const memory = memoryTransport();
      const first = await replayOnePage(db, memory, new Date(Date.now() - 3_600_000), 5);
      assert.equal(first.matched, 30, 'the events committed before the replay, though above the open transaction');
      assert.equal(first.published, 5);
      // Committed after the replay began: not in its slice, resumed or not.
      await inTransaction(db.pool, (tx) => outbox.add(tx, Moved({ sku: 'late', n: 99 })));
      const second = await replayEvents({ db: db.pool, schema: db.schema, transport: memory, resume: first.replayId });
      assert.equal(second.complete, true);
      assert.equal(second.published, 30);
      assert.deepEqual(
        memory.messages.map((m) => m.id),
        ids,
        'each event of the slice once, in log order, across both runs',
      );
    } finally {
      await older.query('ROLLBACK').catch(() => {});
      older.release();
    }
  });
});
