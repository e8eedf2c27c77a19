/**
 * One conformance suite for every transport, run unchanged against each on its real server:
 * per-key order with acknowledgements, the CloudEvents mapping of its protocol binding,
 * redelivery to a consumer that died, one effect for duplicates, the broker stopped and started
 * mid-stream with nothing lost (a private broker of the test's own: never the shared one), two
 * members of a group with one leaving mid-stream, a message over the broker's size limit
 * dead-lettered, and nothing read from a subscription after close().
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import {
  createConsumer,
  createOutbox,
  createRelay,
  defineEvent,
  silentLogger,
  type Transport,
} from '../../src/index.ts';
import { decodeMessage } from '../../src/wire/incoming.ts';
import { createEffects, eventMessage } from '../support/consumer.ts';
import { freshSchema, inTransaction, type TestSchema, uniqueName } from '../support/env.ts';
import { orSkip } from '../support/private.ts';
import { waitFor } from '../support/relay-process.ts';
import { type RawMessage, type TransportUnderTest, take } from './harness.ts';

const Step = defineEvent({
  type: 'conformance.step',
  version: 1,
  schema: z.object({ key: z.string(), seq: z.number().int(), pad: z.string().optional() }),
  key: (p) => p.key,
});

export function conformance(t: TransportUnderTest): void {
  describe(`transport conformance: ${t.name}`, () => {
    let db: TestSchema;
    let effects: string;
    let transport: Transport;
    before(async () => {
      db = await freshSchema();
      effects = await createEffects(db.pool, db.schema);
      transport = t.make();
    });
    after(async () => {
      await transport.close();
      await db.drop();
    });

    it('publishes with acknowledgement and delivers each key in order', async () => {
      const group = uniqueName('g');
      const destination = await t.destination(3, [group]);
      const messages = Array.from({ length: 300 }, (_, i) =>
        eventMessage(destination, Step.type, { key: `k${i % 10}`, seq: Math.floor(i / 10) }, { key: `k${i % 10}` }),
      );
      for (let i = 0; i < messages.length; i += 50) await transport.publish(messages.slice(i, i + 50));
      const subscription = await (transport.subscribe as NonNullable<Transport['subscribe']>)({
        group,
        topics: [destination],
      });
      try {
        // Acknowledged as read, as a consumer does: SQS FIFO holds a key's later messages back
        // while earlier ones are unacknowledged, and brokers bound what is in flight.
        const got = await take(subscription, messages.length, 30_000, true);
        assert.equal(got.length, messages.length);
        const seqs = new Map<string, number[]>();
        for (const d of got) {
          const e = decodeMessage(d);
          seqs.set(e.key, [...(seqs.get(e.key) ?? []), (e.payload as { seq: number }).seq]);
        }
        for (const [key, list] of seqs)
          assert.deepEqual(
            list,
            [...list].sort((a, b) => a - b),
            `order of ${key}`,
          );
        for (const d of got) await d.ack();
      } finally {
        await subscription.close();
      }
    });

    it('maps CloudEvents attributes to its protocol binding, and reads them back', async () => {
      const group = uniqueName('g');
      const destination = await t.destination(1, [group, `${group}-raw`]);
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const sent = eventMessage(
        destination,
        Step.type,
        { key: 'a', seq: 1 },
        { key: 'a', correlationId: 'c-1', traceparent },
      );
      sent.headers.tenant = 'acme';
      await transport.publish([sent]);
      const [raw] = await t.readRaw(destination, 1, `${group}-raw`);
      assert.ok(raw, 'the message is on the broker');
      assert.equal(raw.headers[t.attributeName('id')], sent.id);
      assert.equal(raw.headers[t.attributeName('type')], Step.type);
      assert.equal(raw.headers[t.attributeName('specversion')], '1.0');
      assert.equal(raw.headers[t.attributeName('traceparent')], traceparent);
      assert.equal(raw.headers.tenant, 'acme');
      assert.deepEqual(JSON.parse(raw.body), { key: 'a', seq: 1 });
      const subscription = await (transport.subscribe as NonNullable<Transport['subscribe']>)({
        group,
        topics: [destination],
      });
      try {
        const [delivery] = await take(subscription, 1);
        assert.ok(delivery);
        const event = decodeMessage(delivery);
        assert.equal(event.id, sent.id);
        assert.equal(event.correlationId, 'c-1');
        assert.equal(event.traceparent, traceparent);
        assert.equal(event.key, 'a');
        assert.deepEqual(event.headers, { tenant: 'acme' });
        await delivery.ack();
      } finally {
        await subscription.close();
      }
    });

    /** A new group and one-partition destination with ten messages of one key published, and subscribe(). */
    const tenOfOneKey = async () => {
      const group = uniqueName('g');
      const destination = await t.destination(1, [group]);
      const messages = Array.from({ length: 10 }, (_, seq) =>
        eventMessage(destination, Step.type, { key: 'a', seq }, { key: 'a' }),
      );
      await transport.publish(messages);
      const subscribe = () =>
        (transport.subscribe as NonNullable<Transport['subscribe']>)({ group, topics: [destination] });
      return { messages, subscribe };
    };

    it('redelivers to the group what a consumer that died did not acknowledge', async () => {
      const { messages, subscribe } = await tenOfOneKey();
      const first = await subscribe();
      try {
        const got = await take(first, 10);
        assert.equal(got.length, 10);
        await got[4]?.ack(); // the first five are done; the consumer dies before the rest
      } finally {
        await first.close();
      }
      const second = await subscribe();
      try {
        const again = await take(second, 5);
        assert.deepEqual(
          again.map((d) => decodeMessage(d).id),
          messages.slice(5).map((m) => m.id),
        );
        await again.at(-1)?.ack();
      } finally {
        await second.close();
      }
    });

    it('gives one effect for an event delivered several times', async () => {
      const group = uniqueName('g');
      const destination = await t.destination(2, [group]);
      const Def = defineEvent({ type: Step.type, version: 1, schema: Step.schema, key: Step.key, destination });
      const once = eventMessage(destination, Step.type, { key: 'b', seq: 1 }, { key: 'b' });
      await transport.publish([once]);
      await transport.publish([once]);
      await transport.publish([once]);
      const consumer = createConsumer({ transport, group, db: db.pool, schema: db.schema });
      consumer.on(Def, async (event, { tx }) => {
        await tx.query(`INSERT INTO ${effects} (event_id, key) VALUES ($1, $2)`, [event.id, event.key]);
      });
      await consumer.start();
      try {
        await waitFor('the event', () => consumer.stats().handled === 1, 30_000);
        await new Promise((r) => setTimeout(r, 1000)); // let any further copies arrive
      } finally {
        await consumer.stop();
      }
      const rows = await db.pool.query(`SELECT count(*)::int AS n FROM ${effects} WHERE event_id = $1`, [once.id]);
      assert.equal(rows.rows[0].n, 1);
    });

    it('loses nothing when the broker stops and starts mid-stream; the cursor waits for acknowledgements', async (ctx) => {
      // Stopped and started: a broker of the test's own, never the shared one (it may be the user's).
      const broker = await orSkip(ctx, () => t.privateBroker());
      if (!broker) return;
      ctx.after(() => broker.destroy());
      // For the PostgreSQL transport the broker is the database: the test's schema goes in it too.
      const own = broker.databaseUrl === undefined ? undefined : await freshSchema(broker.databaseUrl);
      if (own) ctx.after(() => own.pool.end()); // no DROP SCHEMA: its cluster goes with the broker
      const store = own ?? db;
      const table = own ? await createEffects(own.pool, own.schema) : effects;
      const group = uniqueName('g');
      const destination = await broker.destination(3, [group]);
      const Def = defineEvent({ type: Step.type, version: 1, schema: Step.schema, key: Step.key, destination });
      const relayTransport = broker.make();
      const relay = createRelay({
        db: store.pool,
        schema: store.schema,
        transport: relayTransport,
        backoff: { initialMs: 100, maxMs: 1000 },
        logger: silentLogger,
      });
      const consumerTransport = broker.make();
      const consumer = createConsumer({
        transport: consumerTransport,
        group,
        db: store.pool,
        schema: store.schema,
        retry: { attempts: 3, initialMs: 100, maxMs: 1000 },
      });
      consumer.on(Def, async (event, { tx }) => {
        await tx.query(`INSERT INTO ${table} (event_id, key) VALUES ($1, $2)`, [event.id, event.key]);
      });
      const outbox = createOutbox({ schema: store.schema });
      const committed: string[] = [];
      // Retried until it commits: for the PostgreSQL transport the broker is the database.
      const write = async (n: number) => {
        for (let attempt = 0; ; attempt++) {
          try {
            const added = await inTransaction(store.pool, (tx) => outbox.add(tx, Def({ key: `k${n % 7}`, seq: n })));
            committed.push(...added.map((a) => a.id));
            return;
          } catch (error) {
            if (attempt > 600) throw error;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      };
      await relay.start();
      await consumer.start();
      try {
        for (let n = 0; n < 50; n++) await write(n);
        await waitFor('some published', () => relay.stats().published >= 50, 30_000);
        await broker.stopBroker();
        let writing: Promise<void> = Promise.resolve();
        try {
          const publishedBefore = relay.stats().published;
          // Written while the broker is down (for the PostgreSQL transport, once it is back).
          writing = (async () => {
            for (let n = 50; n < 100; n++) await write(n);
          })();
          await waitFor('the relay to notice', () => relay.stats().failures > 0, 60_000);
          assert.equal(
            relay.stats().published,
            publishedBefore,
            'nothing counts as published while the broker is down',
          );
        } finally {
          await broker.startBroker();
        }
        await writing;
        for (let n = 100; n < 150; n++) await write(n);
        const count = async () =>
          (
            await store.pool.query(`SELECT count(DISTINCT event_id)::int AS n FROM ${table} WHERE event_id = ANY($1)`, [
              committed,
            ])
          ).rows[0].n as number;
        await waitFor('one effect per committed event', async () => (await count()) === committed.length, 120_000);
      } finally {
        await consumer.stop();
        await relay.stop();
        await relayTransport.close();
        await consumerTransport.close();
      }
      const rows = await store.pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE event_id = ANY($1)`, [
        committed,
      ]);
      assert.equal(rows.rows[0].n, committed.length, 'no effect twice');
      assert.equal(consumer.stats().deadLettered, 0);
    });

    it('two members of a group: each event once in effect, each key in order, when one leaves mid-stream', async () => {
      const group = uniqueName('g');
      const destination = await t.destination(4, [group]);
      const Def = defineEvent({ type: Step.type, version: 1, schema: Step.schema, key: Step.key, destination });
      const seen = new Map<string, string>();
      const member = (name: string) => {
        const memberTransport = t.make();
        const consumer = createConsumer({
          transport: memberTransport,
          group,
          db: db.pool,
          schema: db.schema,
          concurrency: 8,
        });
        consumer.on(Def, async (event, { tx }) => {
          seen.set(event.id, name);
          await tx.query(`INSERT INTO ${effects} (event_id, key, seq) VALUES ($1, $2, $3)`, [
            event.id,
            `${destination}/${event.key}`,
            event.payload.seq,
          ]);
          await new Promise((r) => setTimeout(r, 2)); // handlers take a moment: work is in flight when a member leaves
        });
        return { consumer, transport: memberTransport };
      };
      const a = member('a');
      const b = member('b');
      const messages = Array.from({ length: 400 }, (_, i) =>
        eventMessage(destination, Step.type, { key: `k${i % 20}`, seq: Math.floor(i / 20) }, { key: `k${i % 20}` }),
      );
      const ids = messages.map((m) => m.id);
      const count = async (distinct: boolean) =>
        (
          await db.pool.query(
            `SELECT count(${distinct ? 'DISTINCT event_id' : '*'})::int AS n FROM ${effects} WHERE event_id = ANY($1)`,
            [ids],
          )
        ).rows[0].n as number;
      await a.consumer.start();
      await b.consumer.start();
      try {
        for (let i = 0; i < 200; i += 50) await transport.publish(messages.slice(i, i + 50));
        await waitFor('a part handled', async () => (await count(true)) >= 60, 60_000);
        await a.consumer.stop(); // member a leaves with work in flight; b takes over its share
        for (let i = 200; i < 400; i += 50) await transport.publish(messages.slice(i, i + 50));
        await waitFor('every event handled', async () => (await count(true)) === ids.length, 120_000);
      } finally {
        await a.consumer.stop();
        await b.consumer.stop();
        await a.transport.close();
        await b.transport.close();
      }
      assert.equal(await count(false), ids.length, 'no effect twice');
      const order = await db.pool.query<{ key: string; seqs: number[] }>(
        `SELECT key, array_agg(seq ORDER BY n) AS seqs FROM ${effects} WHERE event_id = ANY($1) GROUP BY key`,
        [ids],
      );
      assert.equal(order.rows.length, 20);
      for (const r of order.rows)
        assert.deepEqual(
          r.seqs,
          [...r.seqs].sort((x, y) => x - y),
          `order of ${r.key}`,
        );
      assert.ok([...seen.values()].includes('b'), 'the second member handled events');
    });

    it("dead-letters a message over the broker's size limit with the reason; the next one flows", async () => {
      const group = uniqueName('g');
      const { destination, bytes } = await t.oversized([group]);
      const Def = defineEvent({ type: Step.type, version: 1, schema: Step.schema, key: Step.key, destination });
      const relay = createRelay({
        db: db.pool,
        schema: db.schema,
        transport: t.make(),
        maxAttempts: 2,
        logger: silentLogger,
      });
      const outbox = createOutbox({ schema: db.schema, maxPayloadBytes: bytes * 4 });
      const big = Def({ key: 'big', seq: 1, pad: 'x'.repeat(bytes + 1000) });
      const small = Def({ key: 'big', seq: 2 });
      await inTransaction(db.pool, (tx) => outbox.add(tx, [big, small]));
      await relay.start();
      try {
        await waitFor(
          'the dead letter',
          async () => (await relay.getFailedEvents({ ids: [big.id] })).length === 1,
          60_000,
        );
        const [letter] = await relay.getFailedEvents({ ids: [big.id] });
        assert.equal(letter?.error.code, 'HERALD_MESSAGE_TOO_LARGE');
        let raw: RawMessage | undefined;
        await waitFor(
          'the small one',
          async () => {
            [raw] = await t.readRaw(destination, 1, group);
            return raw !== undefined;
          },
          30_000,
        );
        assert.equal(raw?.headers[t.attributeName('id')], small.id);
      } finally {
        await relay.stop();
      }
    });

    it('yields nothing after close(), even what it had fetched; the group reads it again', async () => {
      const { messages, subscribe } = await tenOfOneKey();
      const first = await subscribe();
      const it = first[Symbol.asyncIterator]();
      try {
        const head = await it.next();
        assert.equal(head.done, false);
        await new Promise((r) => setTimeout(r, 1000)); // the rest is fetched meanwhile, not read
      } finally {
        await first.close();
      }
      const after = await Promise.race([
        it.next(),
        new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), 2000)),
      ]);
      assert.deepEqual(after, { value: undefined, done: true }, 'a read after close() ends');
      const second = await subscribe();
      try {
        const again = await take(second, 10);
        assert.deepEqual(
          again.map((d) => decodeMessage(d).id),
          messages.map((m) => m.id),
          'nothing was acknowledged: all of it again, in order',
        );
        await again.at(-1)?.ack();
      } finally {
        await second.close();
      }
    });
  });
}
