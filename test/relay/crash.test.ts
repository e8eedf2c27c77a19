import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { createOutbox, defineEvent } from '../../src/index.ts';
import { freshSchema, inTransaction } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';
import { type RelayProcess, spawnRelay, waitFor } from '../support/relay-process.ts';
import { databaseFor, type SourceDatabase, sources } from '../support/sources.ts';

const writers = 4;
const keysPerWriter = 25;
const eventsPerWriter = 1500;

for (const source of sources)
  describe(`a relay killed with SIGKILL mid-stream (source: ${source})`, () => {
    let database: SourceDatabase;
    let db: Awaited<ReturnType<typeof freshSchema>>;
    let topic: string;
    const relays: RelayProcess[] = [];
    before(async () => {
      database = await databaseFor(source);
      db = await freshSchema(database.url);
      topic = await createTopic(6);
    });
    after(async () => {
      for (const r of relays) r.child.kill('SIGKILL');
      await db.drop();
      await database.close();
    });

    it('loses nothing and keeps per-key order after restarts', async () => {
      const Counted = defineEvent({
        type: 'crash.counted',
        version: 1,
        destination: topic,
        schema: z.object({ key: z.string(), n: z.number().int(), pad: z.string() }),
        key: (p) => p.key,
      });
      const outbox = createOutbox({ schema: db.schema });
      const cursorMoved = async () => {
        const r = await db.pool.query(`SELECT max(seq) AS seq FROM "${db.schema}".cursors WHERE xid <> '0'`);
        return r.rows[0].seq !== null;
      };
      const publishedCount = async () => {
        const r = await db.pool.query(
          `SELECT count(*)::int AS n FROM "${db.schema}".log l, (SELECT xid, seq FROM "${db.schema}".cursors ORDER BY xid, seq LIMIT 1) c WHERE (l.xid, l.seq) <= (c.xid, c.seq)`,
        );
        return r.rows[0].n as number;
      };

      // Each writer owns its keys, so writes to one key are serialised, as the guarantee requires.
      let written = 0;
      // Writers go on until both kills happened (a relay that starts slowly, as the CDC source
      // does while it makes its slot, must still be killed mid-stream), and at least this long.
      let killing = true;
      const writing = Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          const counters = new Array<number>(keysPerWriter).fill(0);
          for (let i = 0; i < eventsPerWriter || killing; i += 10) {
            await inTransaction(db.pool, (tx) =>
              outbox.add(
                tx,
                Array.from({ length: 10 }, (_, j) => {
                  const k = (i + j) % keysPerWriter;
                  const n = counters[k] ?? 0;
                  counters[k] = n + 1;
                  return Counted({ key: `w${w}-k${k}`, n, pad: 'x'.repeat(200) });
                }),
              ),
            );
            written += 10;
            if (i % 100 === 0) await new Promise((r) => setTimeout(r, 5));
          }
        }),
      );

      let kills = 0;
      try {
        for (let round = 0; round < 3; round++) {
          const relay = spawnRelay(db.schema, {
            HERALD_BATCH_SIZE: '100',
            DATABASE_URL: database.url,
            HERALD_RELAY_SOURCE: source,
            HERALD_LEASE_MS: '1000', // a killed streaming relay's leases lapse quickly
          });
          relays.push(relay);
          if (round === 2) break;
          const before = await publishedCount();
          await waitFor(
            'the relay to publish',
            async () => (await cursorMoved()) && (await publishedCount()) > before + 300,
            60_000,
          ).catch((error) => {
            throw new Error(`${(error as Error).message}; relay ${round}:\n${relay.logs().slice(-4000)}`);
          });
          relay.child.kill('SIGKILL');
          const { signal } = await relay.exited;
          assert.equal(signal, 'SIGKILL');
          kills++;
        }
      } finally {
        killing = false;
      }
      await writing;
      const total = written;
      assert.ok(total >= writers * eventsPerWriter);
      await waitFor('everything published', async () => (await publishedCount()) === total, 90_000);
      assert.ok(kills === 2);

      const messages = await readTopic(topic, total, { timeoutMs: 60_000, settleMs: 1500 });
      const ids = new Set(messages.map((m) => m.headers.ce_id));
      assert.equal(ids.size, total, `lost ${total - ids.size} events`);
      const duplicates = messages.length - ids.size;
      // Per key, the first copy of each event arrives in the order written: a re-published batch
      // repeats a suffix, it never reorders.
      const byKey = new Map<string, number[]>();
      const firstSeen = new Set<string>();
      for (const m of messages) {
        const id = m.headers.ce_id as string;
        if (firstSeen.has(id)) continue;
        firstSeen.add(id);
        const p = JSON.parse(m.value) as { key: string; n: number };
        byKey.set(p.key, [...(byKey.get(p.key) ?? []), p.n]);
      }
      assert.equal(byKey.size, writers * keysPerWriter);
      for (const [key, ns] of byKey) {
        assert.deepEqual(
          ns,
          ns.map((_, i) => i),
          `order of key ${key}`,
        );
      }
      console.log(`crash test (${source}): ${total} events, ${kills} SIGKILLs, ${duplicates} duplicates, 0 lost`);
      const last = relays[relays.length - 1] as RelayProcess;
      last.child.kill('SIGTERM');
      const exit = await last.exited;
      assert.equal(exit.code, 0, 'SIGTERM stops the relay cleanly');
      assert.match(last.logs(), /"msg":"relay stopped"/);
    });
  });
