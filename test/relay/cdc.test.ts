// The relay's CDC source on a private PostgreSQL cluster with wal_level=logical (the shared one
// may not have it): commit order, the open-transaction case, a restart that resumes from the
// slot, a slot dropped while events wait, and a standby taking over.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { z } from 'zod';
import type { PrivatePostgres } from '../../infra/postgres.d.mts';
import { privatePostgres } from '../../infra/postgres.mjs';
import {
  createOutbox,
  createRelay,
  defineEvent,
  getStatus,
  listUnpublished,
  migrate,
  type Relay,
  silentLogger,
} from '../../src/index.ts';
import { formatStatus } from '../../src/status/format.ts';
import { dropReplication, ensurePublication, ensureSlot, slotInfo } from '../../src/store/replication.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import type { Transport } from '../../src/transports/transport.ts';
import { brokers, inTransaction, uniqueName } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

const Item = defineEvent({
  type: 'cdc.item',
  version: 1,
  schema: z.object({ n: z.number() }),
  key: (p) => `k${p.n % 5}`,
});

describe('relay with source: cdc (logical replication)', () => {
  let cluster: PrivatePostgres | undefined;
  let pool: pg.Pool;
  let schema: string;
  let topic: string;
  const relays: Relay[] = [];
  before(async () => {
    cluster = await privatePostgres({
      settings: { wal_level: 'logical', max_wal_senders: 10, max_replication_slots: 10 },
    });
    pool = new pg.Pool({ connectionString: cluster.url, max: 8 });
    pool.on('error', () => {});
    schema = uniqueName('herald_cdc');
    await migrate(pool, { schema });
    topic = await createTopic(1); // one partition: arrival order is commit order
  });
  after(async () => {
    for (const r of relays) await r.stop();
    await pool?.end();
    await cluster?.destroy();
  });
  const relay = (instanceId?: string, cursorIntervalMs?: number, transport: Transport = kafka({ brokers })) => {
    const r = createRelay({
      db: pool,
      schema,
      transport,
      source: 'cdc',
      logger: silentLogger,
      leaseMs: 1000,
      ...(instanceId ? { instanceId } : {}),
      ...(cursorIntervalMs === undefined ? {} : { cursorIntervalMs }),
    });
    relays.push(r);
    return r;
  };
  let n = 0;
  const write = (count: number) =>
    inTransaction(pool, (tx) =>
      createOutbox({ schema }).add(
        tx,
        Array.from({ length: count }, () => Item({ n: n++ }, { destination: topic })),
      ),
    );
  const written: string[] = [];
  /** Each of `ids` on the topic exactly once, in this order. */
  const onceEach = async (ids: string[], message: string) => {
    const messages = await readTopic(topic, 1, { untilIds: ids, settleMs: 500 });
    assert.deepEqual(
      messages.filter((m) => ids.includes(m.headers.ce_id as string)).map((m) => m.headers.ce_id),
      ids,
      message,
    );
  };
  const backlog = async () => (await getStatus({ db: pool, schema })).backlog.events;
  /**
   * A fresh relay, caught up; then an older transaction with an xid and no events, which holds the
   * checkpoints' xmin below the two events written and published after it.
   */
  const heldBack = async () => {
    await Promise.all(relays.map((r) => r.stop()));
    const r = relay();
    await r.start();
    await r.drain();
    const older = await pool.connect();
    await older.query('BEGIN');
    await older.query('SELECT pg_current_xact_id()');
    const before = r.stats().published;
    await write(2);
    await waitFor('two published', () => r.stats().published >= before + 2);
    return { r, older };
  };

  it('streams committed events in commit order, with none rolled back, and saves the cursors behind', async () => {
    const r = relay();
    for (let i = 0; i < 3; i++) written.push(...(await write(4)).map((a) => a.id));
    await r.start();
    await waitFor('streaming', async () => (await slotInfo(pool, schema))?.active === true);
    // Commit order, not transaction id order: the older transaction commits last.
    const older = await pool.connect();
    await older.query('BEGIN');
    const late = await createOutbox({ schema }).add(older, Item({ n: n++ }, { destination: topic }));
    const early = await write(2);
    await assert.rejects(
      inTransaction(pool, async (tx) => {
        await createOutbox({ schema }).add(tx, Item({ n: 999 }, { destination: topic }));
        throw new Error('rolled back');
      }),
    );
    await older.query('COMMIT');
    older.release();
    written.push(...early.map((a) => a.id), ...late.map((a) => a.id));
    await waitFor('all published', () => r.stats().published === written.length);
    const messages = await readTopic(topic, written.length, { settleMs: 500 });
    assert.equal(messages.length, written.length, 'each once, none rolled back');
    const arrival = messages.map((m) => m.headers.ce_id);
    const latePos = arrival.indexOf(late[0]?.id);
    assert.ok(latePos > arrival.indexOf(early[1]?.id), 'the transaction that committed last arrives after the others');
    // The payload as PostgreSQL's text gives it, as the polling source publishes it: not parsed
    // and written again on the way (that would drop jsonb's spaces).
    const stored = await pool.query<{ id: string; payload: string }>(
      `SELECT id::text, payload::text AS payload FROM ${schema}.log`,
    );
    const asStored = new Map(stored.rows.map((row) => [row.id, row.payload]));
    for (const m of messages) assert.equal(m.value, asStored.get(m.headers.ce_id as string));

    const slot = await slotInfo(pool, schema);
    assert.equal(slot?.active, true, 'the slot is streamed');
    await r.drain();
    // Published by the stream; a checkpoint moves the cursors only below the oldest transaction
    // open in the whole server, which another test's may be for a moment (the files run side by side).
    await waitFor(
      'the cursors caught up by checkpoint',
      async () => (await listUnpublished({ db: pool, schema })).length === 0,
    );
    const status = await getStatus({ db: pool, schema });
    assert.equal(status.backlog.events, 0);
    assert.equal(status.replication?.active, true, 'herald status shows the slot streamed');
    assert.ok((status.replication?.retainedBytes ?? -1) >= 0);
    assert.match(
      formatStatus(status),
      /replication slot {2}herald_herald_cdc_\w+: streamed, keeps [\d.]+ k?M?B of WAL/,
    );
  });

  it('a new relay resumes after what was acknowledged; a dropped slot loses nothing', async () => {
    await Promise.all(relays.map((r) => r.stop()));
    // Written while no relay runs: the slot keeps them.
    const waiting = (await write(5)).map((a) => a.id);
    const r1 = relay();
    await r1.start();
    await waitFor('the waiting five', () => r1.stats().published === 5);
    await r1.stop();

    // The slot and publication dropped (an operator, a failover to a replica without slots) while
    // events wait: the next start reads them from the log, from the cursors.
    const orphans = (await write(6)).map((a) => a.id);
    await dropReplication(pool, schema);
    const r2 = relay();
    await r2.start();
    const after = (await write(3)).map((a) => a.id);
    await waitFor('orphans and later ones', () => r2.stats().published >= 9);
    await r2.drain();
    const ids = [...waiting, ...orphans, ...after];
    const messages = await readTopic(topic, written.length + ids.length, { settleMs: 500 });
    const seen = new Set(messages.map((m) => m.headers.ce_id));
    for (const id of ids) assert.ok(seen.has(id), `event ${id} published`);
    assert.notEqual(await slotInfo(pool, schema), null, 'the slot was made again');
    await r2.stop();
  });

  it('one relay streams; a standby takes over when it stops', async () => {
    await Promise.all(relays.map((r) => r.stop()));
    const a = relay('a-relay');
    const b = relay('b-relay');
    await a.start();
    await b.start();
    await waitFor('one holds every shard', () => a.stats().shards.length + b.stats().shards.length === 64);
    assert.ok(a.stats().shards.length === 0 || b.stats().shards.length === 0, 'never split');
    const leader = a.stats().shards.length > 0 ? a : b;
    const standby = leader === a ? b : a;
    const before = (await write(4)).map((x) => x.id);
    await waitFor('published by the leader', () => leader.stats().published >= 4);
    await leader.stop();
    const later = (await write(4)).map((x) => x.id);
    await waitFor('the standby took every shard and published', () => standby.stats().published >= 4, 30_000);
    const messages = await readTopic(topic, 1, { untilIds: [...before, ...later] });
    assert.ok(messages.length >= 8);
  });

  it('table-less mode refuses to write where no slot reads yet (HERALD_NO_REPLICATION_SLOT), then writes once one does', async () => {
    const fresh = uniqueName('herald_cdc_noslot');
    await migrate(pool, { schema: fresh });
    const walOutbox = createOutbox({ schema: fresh, mode: 'wal' });
    const lsn = async () => (await pool.query('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string;
    await inTransaction(pool, async (tx) => {
      await assert.rejects(walOutbox.add(tx, Item({ n: 1 })), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'HERALD_NO_REPLICATION_SLOT');
        assert.match(error.message, /start a relay with source 'cdc'/);
        return true;
      });
      // Refused before writing: the caller's transaction goes on.
      assert.equal((await tx.query('SELECT 1 AS ok')).rows[0].ok, 1);
    });
    // A slot of that name in another database of the server (slot names are the server's) reads
    // nothing of this one: still refused.
    const otherDb = uniqueName('herald_cdc_other');
    await pool.query(`CREATE DATABASE "${otherDb}"`);
    const url = new URL(cluster?.url as string);
    url.pathname = `/${otherDb}`;
    const other = new pg.Pool({ connectionString: url.toString(), max: 2 });
    other.on('error', () => {});
    try {
      await migrate(other, { schema: fresh });
      await ensurePublication(other, fresh);
      await ensureSlot(other, fresh, 10_000);
      await assert.rejects(
        inTransaction(pool, (tx) => walOutbox.add(tx, Item({ n: 1 }))),
        (error: Error & { code?: string }) => error.code === 'HERALD_NO_REPLICATION_SLOT',
      );
      await dropReplication(other, fresh);
    } finally {
      await other.end();
      await pool.query(`DROP DATABASE "${otherDb}"`);
    }
    await ensurePublication(pool, fresh);
    await ensureSlot(pool, fresh, 10_000);
    try {
      const before = await lsn();
      const added = await inTransaction(pool, (tx) => walOutbox.add(tx, Item({ n: 2 })));
      assert.equal(added.length, 1);
      assert.notEqual(await lsn(), before, 'the message went to the WAL');
    } finally {
      await dropReplication(pool, fresh);
      await pool.query(`DROP SCHEMA "${fresh}" CASCADE`);
    }
  });

  it('table-less mode: outbox.add writes WAL messages only, the CDC relay publishes them; a bad one is skipped', async () => {
    await Promise.all(relays.map((r) => r.stop()));
    const r = relay();
    await r.start();
    // Caught up with what earlier tests left (its start-up read of the log), and streaming.
    await r.drain();
    const walOutbox = createOutbox({ schema, mode: 'wal' });
    const logRows = async () =>
      (await pool.query(`SELECT count(*)::int AS n FROM "${schema}".log`)).rows[0].n as number;
    const rowsBefore = await logRows();
    const published = r.stats().published;
    const first = await inTransaction(pool, (tx) =>
      walOutbox.add(tx, [Item({ n: 1000 }, { destination: topic }), Item({ n: 1001 }, { destination: topic })]),
    );
    await assert.rejects(
      inTransaction(pool, async (tx) => {
        await walOutbox.add(tx, Item({ n: 1002 }, { destination: topic }));
        throw new Error('rolled back');
      }),
    );
    // Something under Herald's prefix that is not an event: skipped, not a stall.
    await pool.query(`SELECT pg_logical_emit_message(true, $1, 'not json')`, [`herald:${schema}`]);
    const second = await inTransaction(pool, (tx) => walOutbox.add(tx, Item({ n: 1003 }, { destination: topic })));
    await waitFor('three published', () => r.stats().published >= published + 3);
    assert.equal(await logRows(), rowsBefore, 'no row in the log');
    const ids = [...first, ...second].map((a) => a.id);
    const messages = await readTopic(topic, 1, { untilIds: ids });
    const got = messages.filter((m) => ids.includes(m.headers.ce_id as string));
    assert.deepEqual(
      got.map((m) => m.headers.ce_id),
      ids,
      'in commit order, once each',
    );
    assert.deepEqual(JSON.parse(got[0]?.value ?? '{}'), { n: 1000 });
    assert.equal(got[0]?.headers.ce_type, 'cdc.item');
    assert.equal(got[0]?.key, 'k0');
  });

  it('table-less mode: a relay that stops acknowledges what it published, so the next sends none of it again', async () => {
    await Promise.all(relays.map((r) => r.stop()));
    // Acknowledgements at most once a minute while publishing: only the stop's can cover these.
    const r1 = relay(undefined, 60_000);
    await r1.start();
    await r1.drain();
    const walOutbox = createOutbox({ schema, mode: 'wal' });
    const before = r1.stats().published;
    const first = await inTransaction(pool, (tx) =>
      walOutbox.add(tx, [Item({ n: 2000 }, { destination: topic }), Item({ n: 2001 }, { destination: topic })]),
    );
    await waitFor('two published', () => r1.stats().published >= before + 2);
    await r1.stop();
    const r2 = relay();
    await r2.start();
    const second = await inTransaction(pool, (tx) => walOutbox.add(tx, Item({ n: 2002 }, { destination: topic })));
    await waitFor('the third published', () => r2.stats().published >= 1);
    assert.equal(r2.stats().published, 1, 'the new relay published only the event written after the stop');
    await onceEach(
      [...first, ...second].map((a) => a.id),
      'each once',
    );
  });

  it('cursors follow log rows only: they catch up once an older transaction ends, and stay put for table-less events', async () => {
    const { r, older } = await heldBack();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await backlog(), 2, 'the cursors stop below the open transaction');
    await older.query('COMMIT');
    older.release();
    await waitFor('the cursors past the two, without a drain()', async () => (await backlog()) === 0);

    const saved = async () =>
      (await pool.query(`SELECT max(updated_at) AS at FROM "${schema}".cursors`)).rows[0].at as Date;
    const savedAt = await saved();
    const walOutbox = createOutbox({ schema, mode: 'wal' });
    const published = r.stats().published;
    for (let i = 0; i < 3; i++) {
      await inTransaction(pool, (tx) => walOutbox.add(tx, Item({ n: 3000 + i }, { destination: topic })));
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await waitFor('three published', () => r.stats().published >= published + 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await saved(), savedAt, 'no cursor saved for table-less events');
  });

  it('table-less mode: the transaction that commits right after the acknowledged one is not skipped at the next start', async () => {
    await Promise.all(relays.map((r) => r.stop()));
    // The first publish after `slow` is set takes a second: the stop comes while it runs.
    const base = kafka({ brokers });
    let slow = false;
    let publishing!: () => void;
    const slowStarted = new Promise<void>((resolve) => {
      publishing = resolve;
    });
    const transport: Transport = {
      ...base,
      publish: async (messages) => {
        if (slow) {
          slow = false;
          publishing();
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        return base.publish(messages);
      },
    };
    const r1 = relay(undefined, undefined, transport);
    await r1.start();
    await r1.drain();
    const walOutbox = createOutbox({ schema, mode: 'wal' });
    const a = await pool.connect();
    await a.query('BEGIN');
    const [first] = await walOutbox.add(a, Item({ n: 4000 }, { destination: topic }));
    slow = true;
    const [second] = await inTransaction(pool, (tx) => walOutbox.add(tx, Item({ n: 4001 }, { destination: topic })));
    // The second is being published alone; the first's commit record starts where the second's
    // ends, the position the stop acknowledges.
    await slowStarted;
    await a.query('COMMIT');
    a.release();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await r1.stop();
    const r2 = relay();
    await r2.start();
    await onceEach([second?.id, first?.id] as string[], 'each once, in commit order');
  });

  it('cursors pass the rows a previous relay streamed while an older transaction held them, once it ends', async () => {
    const { r: r1, older } = await heldBack();
    await r1.stop();
    const r2 = relay();
    await r2.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await backlog(), 2, 'below the open transaction');
    await older.query('COMMIT');
    older.release();
    await waitFor('the cursors past the two, without a drain()', async () => (await backlog()) === 0);
    assert.equal(r2.stats().published, 0, 'nothing published again');
  });
});
