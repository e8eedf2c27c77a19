import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { createOutbox, defineEvent, HeraldError, isHeraldError, replayEvents } from '../../src/index.ts';
import type { Queryable } from '../../src/store/db.ts';
import { memoryTransport } from '../../src/testing/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import type { Transport } from '../../src/transports/transport.ts';
import { brokers, databaseUrl, freshSchema, inTransaction, type TestSchema } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';
import { assertReplayed, hour, Placed, replayLog, type Written } from '../support/replay-log.ts';

// replayEvents on the log of test/support/replay-log.ts (the command: test/cli/replay.test.ts).
describe('replay: a slice of the log published again', () => {
  const log = replayLog();
  const { now, from, to, inWindow } = log;
  let transport: Transport;
  before(() => {
    transport = kafka({ brokers, clientId: 'herald-replay-test' });
  });
  after(async () => {
    await transport?.close();
  });

  it('replays a window filtered by type and key to another topic: exactly those, per-key order, same ce_id', async () => {
    const topic = await createTopic(3, 'herald-replay-to');
    const types = ['shop.order.placed', 'shop.order.paid'];
    const keys = ['k1', 'k2'];
    const expected = inWindow().filter((e) => types.includes(e.type) && keys.includes(e.key));
    assert.ok(expected.length > 50);
    const progress: [number, number][] = [];
    const result = await replayEvents({
      db: log.db.pool,
      schema: log.db.schema,
      transport,
      from,
      to,
      types,
      keys,
      destination: topic,
      pageSize: 7, // many pages: order must hold across them
      onProgress: (done, total) => progress.push([done, total]),
    });
    assert.equal(result.matched, expected.length);
    assert.equal(result.published, expected.length);
    assert.equal(result.complete, true);
    assert.equal(result.dryRun, false);
    assert.deepEqual(result.byDestination, { [topic]: expected.length });
    assert.deepEqual(result.byType, {
      'shop.order.placed': expected.filter((e) => e.type === 'shop.order.placed').length,
      'shop.order.paid': expected.filter((e) => e.type === 'shop.order.paid').length,
    });
    assert.deepEqual(progress[0], [0, expected.length]);
    assert.deepEqual(progress.at(-1), [expected.length, expected.length]);
    assert.ok(progress.length >= expected.length / 7);
    assert.deepEqual(result.first, new Date(Math.min(...expected.map((e) => e.time.getTime()))));
    assert.deepEqual(result.last, new Date(Math.max(...expected.map((e) => e.time.getTime()))));
    assert.match(result.replayId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    const messages = await readTopic(topic, expected.length, { settleMs: 1000 });
    assertReplayed(messages, expected, result.replayId);
    const first = messages.find((m) => m.headers.ce_id === expected[0]?.id);
    assert.equal(first?.headers.ce_source, '/shop');
    assert.equal(first?.headers.ce_time, expected[0]?.time.toISOString());
  });

  it("replays to each event's own topic without --destination", async () => {
    const expected = inWindow().filter((e) => e.key === 'k3' && e.type !== 'shop.order.shipped');
    const result = await replayEvents({
      db: databaseUrl, // a connection string: the replay opens and closes its own pool
      schema: log.db.schema,
      transport,
      from,
      to,
      keys: ['k3'],
      types: ['shop.order.placed', 'shop.order.paid'],
    });
    assert.deepEqual(result.byDestination, { [log.ownTopic]: expected.length });
    const messages = await readTopic(log.ownTopic, expected.length, { settleMs: 1000 });
    assertReplayed(messages, expected, result.replayId);
  });

  it('--dry-run publishes nothing and reports counts per type and destination, first and last time', async () => {
    const topic = await createTopic(1, 'herald-replay-dry');
    const expected = inWindow();
    const count = (f: (e: Written) => boolean) => expected.filter(f).length;
    const result = await replayEvents({
      db: log.db.pool,
      schema: log.db.schema,
      from,
      to,
      dryRun: true,
      topicPrefix: 'pfx',
    });
    assert.equal(result.dryRun, true);
    assert.equal(result.matched, expected.length);
    assert.equal(result.published, 0);
    assert.deepEqual(result.byType, {
      'shop.order.placed': count((e) => e.type === 'shop.order.placed'),
      'shop.order.paid': count((e) => e.type === 'shop.order.paid'),
      'shop.order.shipped': count((e) => e.type === 'shop.order.shipped'),
    });
    assert.deepEqual(result.byDestination, {
      [log.ownTopic]: count((e) => e.type !== 'shop.order.shipped'),
      'pfx.shop.order.shipped': count((e) => e.type === 'shop.order.shipped'),
    });
    assert.deepEqual(result.first, expected[0]?.time);
    assert.deepEqual(result.last, expected.at(-1)?.time);

    const redirected = await replayEvents({
      db: log.db.pool,
      schema: log.db.schema,
      transport,
      from,
      to,
      dryRun: true,
      destination: topic,
    });
    assert.deepEqual(redirected.byDestination, { [topic]: expected.length });

    // A backfill of one aggregate type (seed 004): only the payments of the window.
    const payments = await replayEvents({
      db: log.db.pool,
      schema: log.db.schema,
      from,
      to,
      dryRun: true,
      aggregateTypes: ['payment'],
    });
    assert.equal(
      payments.matched,
      count((e) => e.type === 'shop.order.paid'),
    );
    assert.deepEqual(Object.keys(payments.byType), ['shop.order.paid']);
    assert.deepEqual(await readTopic(topic, 1, { timeoutMs: 3000 }), [], 'the topic stays empty');
  });

  it('the slice is fixed at the start: every transaction committed then, above an open one too; nothing joins it later', async () => {
    // A window of its own, far from the others.
    const time = new Date(now - 40 * hour);
    const window = { from: new Date(time.getTime() - hour), to: new Date(time.getTime() + hour) };
    const outbox = createOutbox({ schema: log.db.schema });
    const add = (tx: Queryable, n: number) => outbox.add(tx, Placed({ orderId: 'k9', n }, { time }));
    await inTransaction(log.db.pool, (tx) => add(tx, 1)); // committed before the open one started
    const open = await log.db.pool.connect();
    try {
      await open.query('BEGIN');
      await add(open, 2); // still open when the replay starts
      await inTransaction(log.db.pool, (tx) => add(tx, 3)); // committed, though after the open one began
      const dry = await replayEvents({ db: log.db.pool, schema: log.db.schema, ...window, dryRun: true });
      assert.equal(dry.matched, 2, 'the two committed transactions, not the open one');

      // The open transaction commits while the replay runs: its rows do not join the slice.
      const memory = memoryTransport();
      let committed = false;
      const committing: Transport = {
        ...memory,
        async publish(messages) {
          if (!committed) {
            committed = true;
            await open.query('COMMIT');
          }
          await memory.publish(messages);
        },
      };
      const result = await replayEvents({
        db: log.db.pool,
        schema: log.db.schema,
        ...window,
        transport: committing,
        pageSize: 1,
      });
      assert.ok(committed);
      assert.equal(result.matched, 2);
      assert.equal(result.published, 2);
      assert.deepEqual(
        memory.messages.map((m) => JSON.parse(m.value.toString()).n),
        [1, 3],
      );
    } finally {
      await open.query('ROLLBACK').catch(() => {});
      open.release();
    }
    // Once everything has ended, all three are there, in (xid, seq) order.
    const later = await replayEvents({ db: log.db.pool, schema: log.db.schema, ...window, dryRun: true });
    assert.equal(later.matched, 3);
  });

  it('retries a page the transport failed to publish, and stops after the page in flight when aborted', async () => {
    const memory = memoryTransport();
    memory.failNext(2);
    const all = await replayEvents({
      db: log.db.pool,
      schema: log.db.schema,
      transport: memory,
      from,
      to,
      pageSize: 50,
    });
    assert.equal(all.published, inWindow().length);
    assert.deepEqual(
      memory.messages.map((m) => m.id),
      inWindow().map((e) => e.id),
    );

    memory.clear();
    const stopper = new AbortController();
    const partial = await replayEvents({
      db: log.db.pool,
      schema: log.db.schema,
      transport: memory,
      from,
      to,
      pageSize: 50,
      signal: stopper.signal,
      onProgress: (done) => {
        if (done > 0) stopper.abort();
      },
    });
    assert.equal(partial.complete, false);
    assert.equal(partial.published, 50);
    assert.equal(partial.matched, inWindow().length);
    assert.equal(memory.messages.length, 50);
  });

  it('rejects bad options with HERALD_INVALID_CONFIG naming the setting', async () => {
    const bad = (options: Partial<Parameters<typeof replayEvents>[0]>, setting: string) =>
      assert.rejects(
        replayEvents({ db: log.db.pool, schema: log.db.schema, transport, from, to, ...options }),
        (error: unknown) =>
          isHeraldError(error, 'HERALD_INVALID_CONFIG') &&
          error.details.setting === setting &&
          error instanceof HeraldError,
      );
    await bad({ from: to, to: from }, 'from');
    await bad({ from: new Date('nope') }, 'from');
    await bad({ pageSize: 0 }, 'pageSize');
    await bad({ destination: 'not a topic!' }, 'destination');
    await bad({ types: [''] }, 'types');
    await assert.rejects(
      replayEvents({ db: log.db.pool, schema: log.db.schema, from, to }),
      /transport: must be a Herald transport/,
    );
  });
});

describe('replay: one transaction larger than many pages', () => {
  let db: TestSchema;
  let transport: Transport;
  before(async () => {
    db = await freshSchema();
    transport = kafka({ brokers, clientId: 'herald-replay-test' });
  });
  after(async () => {
    await transport?.close();
    await db?.drop();
  });

  it('keeps the order across pages where positions cross from 3 to 4 digits (compared as numbers)', async () => {
    const topic = await createTopic(1, 'herald-replay-bulk');
    const Step = defineEvent({
      type: 'bulk.step',
      version: 1,
      schema: z.object({ n: z.number().int() }),
      key: () => 'one',
    });
    const time = new Date(Date.now() - 30 * hour);
    // A fresh schema: seq starts at 1, so 1,200 rows cross 999 -> 1000.
    await inTransaction(db.pool, (tx) =>
      createOutbox({ schema: db.schema }).add(
        tx,
        Array.from({ length: 1200 }, (_, n) => Step({ n }, { time })),
      ),
    );
    const result = await replayEvents({
      db: db.pool,
      schema: db.schema,
      transport,
      from: new Date(time.getTime() - 1),
      to: new Date(time.getTime() + 1),
      destination: topic,
      pageSize: 100,
    });
    assert.equal(result.published, 1200);
    const messages = await readTopic(topic, 1200, { settleMs: 500 });
    assert.deepEqual(
      messages.map((m) => JSON.parse(m.value).n),
      Array.from({ length: 1200 }, (_, n) => n),
    );
  });
});
