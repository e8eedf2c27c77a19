// The log that the replay tests read: 186 events of three types over five hours, 180 of them in
// the window [now - 3 h, now - 1 h), three keys and types interleaved, in 64 transactions.
// Used by test/replay/replay.test.ts (replayEvents) and test/cli/replay.test.ts (herald replay).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { z } from 'zod';
import { createOutbox, defineEvent } from '../../src/index.ts';
import { freshSchema, inTransaction, type TestSchema } from './env.ts';
import { createTopic, type ReadMessage } from './kafka.ts';

export const hour = 3_600_000;

export interface Written {
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

export function assertReplayed(messages: ReadMessage[], expected: Written[], replayId: string): void {
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

const Order = (type: string) =>
  defineEvent({
    type,
    version: 1,
    schema: z.object({ orderId: z.string(), n: z.number().int() }),
    key: (p) => p.orderId,
  });
export const Placed = Order('shop.order.placed');
export const Paid = Order('shop.order.paid');
export const Shipped = Order('shop.order.shipped'); // no destination: the topic strategy decides

/** Writes the log in a fresh schema before the calling describe's tests, and drops it after. */
export function replayLog() {
  const now = Date.now();
  const from = new Date(now - 3 * hour);
  const to = new Date(now - hour);
  const written: Written[] = [];
  let db: TestSchema | undefined;
  let ownTopic = '';
  before(async () => {
    db = await freshSchema();
    ownTopic = await createTopic(3, 'herald-replay-own');
    const outbox = createOutbox({ schema: db.schema, source: '/shop' });
    const keys = ['k1', 'k2', 'k3'];
    const kinds = [Placed, Paid, Shipped];
    let n = 0;
    const write = async (times: Date[]) => {
      await inTransaction((db as TestSchema).pool, async (tx) => {
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
    await db?.drop();
  });
  return {
    now,
    from,
    to,
    written,
    inWindow: () => written.filter((e) => e.time >= from && e.time < to),
    /** The schema holding the log (after `before`). */
    get db(): TestSchema {
      return db as TestSchema;
    },
    /** The topic Placed and Paid name as their destination. */
    get ownTopic(): string {
      return ownTopic;
    },
  };
}
