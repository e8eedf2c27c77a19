import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { z } from 'zod';
import {
  createOutbox,
  defineEvent,
  HeraldError,
  isHeraldError,
  type ReplayResult,
  replayEvents,
} from '../../src/index.ts';
import type { Queryable } from '../../src/store/db.ts';
import { memoryTransport } from '../../src/testing/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import type { Transport } from '../../src/transports/transport.ts';
import { brokers, databaseUrl, freshSchema, inTransaction, type TestSchema } from '../support/env.ts';
import { createTopic, type ReadMessage, readTopic } from '../support/kafka.ts';

const run = promisify(execFile);
const hour = 3_600_000;

interface Written {
  id: string;
  type: string;
  key: string;
  time: Date;
}

/** Ids per key, in the order given: what one partition of the replay topic must hold. */
function byKey(events: { key: string; id: string }[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of events) out.set(e.key, [...(out.get(e.key) ?? []), e.id]);
  return out;
}

function assertReplayed(messages: ReadMessage[], expected: Written[], replayId: string): void {
  assert.equal(messages.length, expected.length, 'exactly the matching events, once each');
  assert.deepEqual(new Set(messages.map((m) => m.headers.ce_id)), new Set(expected.map((e) => e.id)));
  for (const m of messages) {
    assert.equal(m.headers['herald-replay'], replayId);
    assert.equal(m.headers.ce_partitionkey, m.key);
  }
  // readTopic gives offset order per partition, and one key lives in one partition.
  const got = byKey(messages.map((m) => ({ key: m.key, id: m.headers.ce_id as string })));
  assert.deepEqual(got, byKey(expected), 'per key, the order the events were written');
}

describe('replay: a slice of the log published again', () => {
  let db: TestSchema;
  let transport: Transport;
  let ownTopic: string;
  const now = Date.now();
  const from = new Date(now - 3 * hour);
  const to = new Date(now - hour);
  const written: Written[] = [];
  const inWindow = () => written.filter((e) => e.time >= from && e.time < to);

  const Order = (type: string) =>
    defineEvent({
      type,
      version: 1,
      schema: z.object({ orderId: z.string(), n: z.number().int() }),
      key: (p) => p.orderId,
    });
  const Placed = Order('shop.order.placed');
  const Paid = Order('shop.order.paid');
  const Shipped = Order('shop.order.shipped'); // no destination: the topic strategy decides

  before(async () => {
    db = await freshSchema();
    ownTopic = await createTopic(3, 'herald-replay-own');
    transport = kafka({ brokers, clientId: 'herald-replay-test' });
    const outbox = createOutbox({ schema: db.schema, source: '/shop' });
    const keys = ['k1', 'k2', 'k3'];
    const kinds = [Placed, Paid, Shipped];
    let n = 0;
    const write = async (times: Date[]) => {
      await inTransaction(db.pool, async (tx) => {
        for (const time of times) {
          const key = keys[(n * 7 + Math.floor(n / 3)) % 3] as string;
          const kind = kinds[n % 3] as typeof Placed;
          const destination = kind === Shipped ? {} : { destination: ownTopic };
          // Payments belong to an aggregate of their own: what --aggregate-type selects.
          const aggregate = kind === Paid ? { aggregate: { type: 'payment', id: `pay-${n}` } } : {};
          const event = kind({ orderId: key, n }, { time, ...destination, ...aggregate });
          await outbox.add(tx, event);
          written.push({ id: event.id, type: event.type, key, time });
          n++;
        }
      });
    };
    await write([new Date(now - 5 * hour), new Date(now - 3 * hour - 1)]); // before the window
    // 60 transactions of 3 events in the window, keys and types interleaved.
    for (let i = 0; i < 60; i++) {
      const t = now - 2 * hour + i * 1000;
      await write([new Date(t), new Date(t + 1), new Date(t + 2)]);
    }
    await write([new Date(now - hour), new Date(now - 10 * 60_000)]); // `to` is exclusive; after it
  });
  after(async () => {
    await transport?.close();
    await db?.drop();
  });

  it('replays a window filtered by type and key to another topic: exactly those, per-key order, same ce_id', async () => {
    const topic = await createTopic(3, 'herald-replay-to');
    const types = ['shop.order.placed', 'shop.order.paid'];
    const keys = ['k1', 'k2'];
    const expected = inWindow().filter((e) => types.includes(e.type) && keys.includes(e.key));
    assert.ok(expected.length > 50);
    const progress: [number, number][] = [];
    const result = await replayEvents({
      db: db.pool,
      schema: db.schema,
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
      schema: db.schema,
      transport,
      from,
      to,
      keys: ['k3'],
      types: ['shop.order.placed', 'shop.order.paid'],
    });
    assert.deepEqual(result.byDestination, { [ownTopic]: expected.length });
    const messages = await readTopic(ownTopic, expected.length, { settleMs: 1000 });
    assertReplayed(messages, expected, result.replayId);
  });

  it('--dry-run publishes nothing and reports counts per type and destination, first and last time', async () => {
    const topic = await createTopic(1, 'herald-replay-dry');
    const expected = inWindow();
    const count = (f: (e: Written) => boolean) => expected.filter(f).length;
    const result = await replayEvents({ db: db.pool, schema: db.schema, from, to, dryRun: true, topicPrefix: 'pfx' });
    assert.equal(result.dryRun, true);
    assert.equal(result.matched, expected.length);
    assert.equal(result.published, 0);
    assert.deepEqual(result.byType, {
      'shop.order.placed': count((e) => e.type === 'shop.order.placed'),
      'shop.order.paid': count((e) => e.type === 'shop.order.paid'),
      'shop.order.shipped': count((e) => e.type === 'shop.order.shipped'),
    });
    assert.deepEqual(result.byDestination, {
      [ownTopic]: count((e) => e.type !== 'shop.order.shipped'),
      'pfx.shop.order.shipped': count((e) => e.type === 'shop.order.shipped'),
    });
    assert.deepEqual(result.first, expected[0]?.time);
    assert.deepEqual(result.last, expected.at(-1)?.time);

    const redirected = await replayEvents({
      db: db.pool,
      schema: db.schema,
      transport,
      from,
      to,
      dryRun: true,
      destination: topic,
    });
    assert.deepEqual(redirected.byDestination, { [topic]: expected.length });

    // A backfill of one aggregate type (seed 004): only the payments of the window.
    const payments = await replayEvents({
      db: db.pool,
      schema: db.schema,
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

  it('the slice is fixed at the start: below the oldest open transaction, nothing joins it later', async () => {
    // A window of its own, far from the others.
    const time = new Date(now - 40 * hour);
    const window = { from: new Date(time.getTime() - hour), to: new Date(time.getTime() + hour) };
    const outbox = createOutbox({ schema: db.schema });
    const add = (tx: Queryable, n: number) => outbox.add(tx, Placed({ orderId: 'k9', n }, { time }));
    await inTransaction(db.pool, (tx) => add(tx, 1)); // committed before the open one started
    const open = await db.pool.connect();
    try {
      await open.query('BEGIN');
      await add(open, 2); // still open when the replay starts
      await inTransaction(db.pool, (tx) => add(tx, 3)); // committed, but after the open one began
      const dry = await replayEvents({ db: db.pool, schema: db.schema, ...window, dryRun: true });
      assert.equal(dry.matched, 1, 'only the transaction below the oldest one still open');

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
        db: db.pool,
        schema: db.schema,
        ...window,
        transport: committing,
        pageSize: 1,
      });
      assert.ok(committed);
      assert.equal(result.matched, 1);
      assert.equal(result.published, 1);
      assert.deepEqual(
        memory.messages.map((m) => JSON.parse(m.value.toString()).n),
        [1],
      );
    } finally {
      await open.query('ROLLBACK').catch(() => {});
      open.release();
    }
    // Once everything has ended, all three are there, in (xid, seq) order.
    const later = await replayEvents({ db: db.pool, schema: db.schema, ...window, dryRun: true });
    assert.equal(later.matched, 3);
  });

  it('retries a page the transport failed to publish, and stops after the page in flight when aborted', async () => {
    const memory = memoryTransport();
    memory.failNext(2);
    const all = await replayEvents({ db: db.pool, schema: db.schema, transport: memory, from, to, pageSize: 50 });
    assert.equal(all.published, inWindow().length);
    assert.deepEqual(
      memory.messages.map((m) => m.id),
      inWindow().map((e) => e.id),
    );

    memory.clear();
    const stopper = new AbortController();
    const partial = await replayEvents({
      db: db.pool,
      schema: db.schema,
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
        replayEvents({ db: db.pool, schema: db.schema, transport, from, to, ...options }),
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
      replayEvents({ db: db.pool, schema: db.schema, from, to }),
      /transport: must be a Herald transport/,
    );
  });

  describe('herald replay (the CLI)', () => {
    const env = () => ({
      ...process.env,
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: brokers.join(','),
      HERALD_SCHEMA: db.schema,
    });
    const herald = (args: string[], extraEnv: Record<string, string | undefined> = {}) =>
      run(process.execPath, ['src/cli/main.ts', 'replay', ...args], { env: { ...env(), ...extraEnv } });

    it('--json prints one JSON line summary and publishes the slice', async () => {
      const topic = await createTopic(3, 'herald-replay-cli');
      const types = ['shop.order.placed', 'shop.order.paid'];
      const expected = inWindow().filter((e) => types.includes(e.type) && ['k1', 'k2'].includes(e.key));
      const { stdout, stderr } = await herald([
        '--from',
        '3h',
        '--to',
        to.toISOString(),
        '--type',
        types.join(','),
        '--key',
        'k1',
        '--key',
        'k2',
        '--destination',
        topic,
        '--page-size',
        '10',
        '--json',
      ]);
      assert.equal(stderr, '', 'no progress bar when stderr is not a terminal');
      const lines = stdout.trim().split('\n');
      assert.equal(lines.length, 1);
      const summary = JSON.parse(lines[0] as string) as ReplayResult & { from: string; to: string };
      assert.equal(summary.matched, expected.length);
      assert.equal(summary.published, expected.length);
      assert.equal(summary.dryRun, false);
      assert.equal(summary.to, to.toISOString());
      assert.deepEqual(summary.byDestination, { [topic]: expected.length });
      assert.equal(typeof summary.seconds, 'number');
      assert.equal(typeof summary.eventsPerSecond, 'number');
      const messages = await readTopic(topic, expected.length, { settleMs: 1000 });
      assertReplayed(messages, expected, summary.replayId);
    });

    it('--dry-run needs no brokers and prints what would be published', async () => {
      const { stdout } = await herald(['--from', from.toISOString(), '--to', to.toISOString(), '--dry-run'], {
        KAFKA_BROKERS: undefined,
      });
      assert.match(stdout, new RegExp(`^dry run: would publish ${inWindow().length} events`));
      assert.match(stdout, /by type:\n {4}shop\.order\.paid +\d+/);
      assert.match(stdout, /by destination:\n/);
      const paid = inWindow().filter((e) => e.type === 'shop.order.paid').length;
      const backfill = await herald(
        ['--from', from.toISOString(), '--to', to.toISOString(), '--dry-run', '--aggregate-type', 'payment'],
        { KAFKA_BROKERS: undefined },
      );
      assert.match(backfill.stdout, new RegExp(`^dry run: would publish ${paid} events`));
      assert.match(stdout, new RegExp(`first ${inWindow()[0]?.time.toISOString()}`));
    });

    it('a bad --from, or --from after --to, exits 2 naming the flag', async () => {
      for (const args of [['--from', 'yesterday'], ['--from', '2025-02-30'], ['--from', '1h', '--to', '2h'], []]) {
        await assert.rejects(herald(args), (error: { code?: number; stderr?: string }) => {
          assert.equal(error.code, 2, `${args.join(' ')}: ${error.stderr}`);
          assert.match(error.stderr ?? '', /HERALD_INVALID_CONFIG: --from/);
          return true;
        });
      }
      await assert.rejects(herald(['--from', '2h', '--to', 'soon']), /--to: "soon"/);
    });
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
