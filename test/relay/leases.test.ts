import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import {
  createLogger,
  createOutbox,
  createRelay,
  defineEvent,
  getStatus,
  type Relay,
  silentLogger,
} from '../../src/index.ts';
import { createLeasing } from '../../src/relay/leasing.ts';
import { advanceCursors } from '../../src/store/sql/cursors.ts';
import { acquireLeases } from '../../src/store/sql/leases.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, freshSchema, inTransaction, type TestSchema } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';
import { type RelayProcess, spawnRelay, waitFor } from '../support/relay-process.ts';

const Counted = defineEvent({
  type: 'lease.counted',
  version: 1,
  schema: z.object({ key: z.string(), n: z.number().int() }),
  key: (p) => p.key,
});

/** Writes `rounds` events for each of `keys` keys, one writer per key group (writes to a key are serialised). */
async function writeKeyed(db: TestSchema, topic: string, keys: number, rounds: number, start = 0): Promise<string[]> {
  const outbox = createOutbox({ schema: db.schema });
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      for (let n = start; n < start + rounds; n++) {
        const events = Array.from({ length: keys / 4 }, (_, k) =>
          Counted({ key: `k${w}-${k}`, n }, { destination: topic }),
        );
        const added = await inTransaction(db.pool, (tx) => outbox.add(tx, events));
        ids.push(...added.map((a) => a.id));
      }
    }),
  );
  return ids;
}

function checkOrder(messages: { headers: Record<string, string>; value: string }[]): void {
  const seen = new Set<string>();
  const byKey = new Map<string, number[]>();
  for (const m of messages) {
    const id = m.headers.ce_id as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const p = JSON.parse(m.value) as { key: string; n: number };
    byKey.set(p.key, [...(byKey.get(p.key) ?? []), p.n]);
  }
  for (const [key, ns] of byKey) {
    assert.deepEqual(
      ns,
      ns.map((_, i) => i),
      `order of ${key}`,
    );
  }
}

const owners = async (db: TestSchema) =>
  (
    await db.pool.query<{ owner: string; n: number }>(
      `SELECT owner, count(*)::int AS n FROM "${db.schema}".leases WHERE expires_at > now() GROUP BY owner ORDER BY owner`,
    )
  ).rows;

describe('shard leases', () => {
  let db: TestSchema;
  const relays: Relay[] = [];
  const processes: RelayProcess[] = [];
  before(async () => {
    db = await freshSchema();
  });
  after(async () => {
    for (const p of processes) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
    }
    for (const r of relays) await r.stop();
    await db.drop();
  });

  it('two relays split the shards fairly, publish everything, keep per-key order; one stops, the other takes all', async () => {
    const topic = await createTopic(4);
    const make = () =>
      createRelay({
        db: db.pool,
        schema: db.schema,
        transport: kafka({ brokers }),
        logger: silentLogger,
        leaseMs: 1000,
      });
    const a = make();
    const b = make();
    relays.push(a, b);
    await a.start();
    await b.start();
    await waitFor('a fair split', () => a.stats().shards.length === 32 && b.stats().shards.length === 32, 20_000);
    const overlap = a.stats().shards.filter((s) => b.stats().shards.includes(s));
    assert.deepEqual(overlap, []);
    // herald status names both holders and their shards.
    const status = await getStatus({ db: db.pool, schema: db.schema });
    assert.deepEqual(
      status.relays.map((r) => [r.alive, r.shards.length]),
      [
        [true, 32],
        [true, 32],
      ],
    );
    assert.deepEqual(status.unheldShards, []);
    const health = await a.health();
    assert.equal(health.relay.shards.length, 32);
    assert.equal(health.status.relays.length, 2);
    assert.ok(!health.problems.some((p) => p.startsWith('relay is')), 'a running relay');
    assert.equal(status.backlog.shards[0]?.heldBy, status.relays.find((r) => r.shards.includes(0))?.id);

    const ids = await writeKeyed(db, topic, 40, 25);
    const messages = await readTopic(topic, ids.length, { timeoutMs: 60_000, untilIds: ids });
    const seen = new Set(messages.map((m) => m.headers.ce_id));
    assert.equal(ids.filter((id) => !seen.has(id)).length, 0, 'nothing lost');
    checkOrder(messages);

    await b.stop();
    const started = Date.now();
    await waitFor('a to hold every shard', () => a.stats().shards.length === 64, 10_000);
    assert.ok(Date.now() - started < 5000, 'a stopped relay hands its shards over at once');
    assert.deepEqual(await owners(db), [{ owner: a.stats().instanceId, n: 64 }]);
    await a.stop();
  });

  it('a relay with a stale epoch cannot move a cursor', async () => {
    const [lease] = await acquireLeases(db.pool, db.schema, 'zombie', [0], 1000);
    assert.ok(lease);
    // Another relay takes shard 0 after the zombie's lease lapsed: the epoch moves on.
    await db.pool.query(`UPDATE "${db.schema}".leases SET expires_at = now() - interval '1 second' WHERE shard = 0`);
    const [taken] = await acquireLeases(db.pool, db.schema, 'successor', [0], 10_000);
    assert.equal(BigInt(taken?.epoch ?? 0), BigInt(lease.epoch) + 1n);
    const before = (await db.pool.query(`SELECT xid::text, seq::text FROM "${db.schema}".cursors WHERE shard = 0`))
      .rows[0];
    const lost = await advanceCursors(db.pool, db.schema, 'zombie', [lease], { xid: '999999999', seq: '1' });
    assert.deepEqual(lost, [0]);
    const afterRow = (await db.pool.query(`SELECT xid::text, seq::text FROM "${db.schema}".cursors WHERE shard = 0`))
      .rows[0];
    assert.deepEqual(afterRow, before);
    await db.pool.query(`UPDATE "${db.schema}".leases SET owner = NULL, expires_at = '-infinity'`);
  });

  it('a relay whose leases went while it was away drops them at its next renewal, not only at a heartbeat', async () => {
    const lines: string[] = [];
    const sleeper = createLeasing({
      db: db.pool,
      schema: db.schema,
      id: 'sleeper',
      shardCount: 64,
      leaseMs: 10_000,
      logger: createLogger({ level: 'warn', write: (line) => lines.push(line) }),
    });
    try {
      await sleeper.rebalance();
      assert.equal(sleeper.shards().length, 64, 'the only live relay holds every shard');
      // Paused past its leases: shards 0-3 lapse and another relay takes them (their epoch moves on).
      await db.pool.query(
        `UPDATE "${db.schema}".leases SET expires_at = now() - interval '1 second' WHERE shard = ANY($1::int[])`,
        [[0, 1, 2, 3]],
      );
      assert.equal((await acquireLeases(db.pool, db.schema, 'successor', [0, 1, 2, 3], 10_000)).length, 4);
      await sleeper.renew();
      assert.deepEqual(
        sleeper.shards().filter((s) => s < 4),
        [],
        'the shards taken are no longer published',
      );
      assert.equal(sleeper.shards().length, 60, 'the others are still held');
      assert.match(lines.join(''), /lost shard leases.*"shards":\[0,1,2,3\]/);
      // A renewal that finds every lease its own changes nothing.
      await sleeper.renew();
      assert.equal(sleeper.shards().length, 60);
    } finally {
      await sleeper.releaseAll();
      await db.pool.query(`UPDATE "${db.schema}".leases SET owner = NULL, expires_at = '-infinity'`);
    }
  });

  it("SIGKILL: the survivor takes the dead relay's shards after its lease lapses; SIGSTOP: the sleeper is fenced", async () => {
    const topic = await createTopic(4);
    const a = spawnRelay(db.schema, { HERALD_LEASE_MS: '3000' });
    const b = spawnRelay(db.schema, { HERALD_LEASE_MS: '3000' });
    processes.push(a, b);
    await waitFor('a split between the two processes', async () => (await owners(db)).length === 2, 30_000);
    const first = await writeKeyed(db, topic, 40, 5);

    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(
      'b to hold every shard',
      async () => {
        const o = await owners(db);
        return o.length === 1 && o[0]?.n === 64;
      },
      20_000,
    );
    const failoverSeconds = (Date.now() - killedAt) / 1000;
    assert.ok(failoverSeconds < 10, `failover took ${failoverSeconds} s`);

    // SIGSTOP b past its lease; a new relay c takes over; b wakes up fenced and rebalances.
    const sleeper = (await owners(db))[0]?.owner;
    b.child.kill('SIGSTOP');
    const c = spawnRelay(db.schema, { HERALD_LEASE_MS: '3000' });
    processes.push(c);
    await waitFor(
      'c to hold every shard',
      async () => {
        const o = await owners(db);
        return o.length === 1 && o[0]?.n === 64 && o[0]?.owner !== sleeper;
      },
      30_000,
    );
    const second = await writeKeyed(db, topic, 40, 5, 5);
    b.child.kill('SIGCONT');
    const third = await writeKeyed(db, topic, 40, 5, 10);

    const ids = [...first, ...second, ...third];
    const messages = await readTopic(topic, ids.length, { timeoutMs: 60_000, untilIds: ids });
    const seen = new Set(messages.map((m) => m.headers.ce_id));
    assert.equal(ids.filter((id) => !seen.has(id)).length, 0, 'nothing lost');
    checkOrder(messages);
    await waitFor(
      'b to notice it lost its leases',
      () => /lost shard leases|shard leases changed/.test(b.logs()),
      20_000,
    );
    console.log(`leases: failover after SIGKILL in ${failoverSeconds.toFixed(1)} s`);
  });
});
