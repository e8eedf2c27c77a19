import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConsumerOptions, createConsumer } from '../../src/index.ts';
import type { OutgoingMessage } from '../../src/transports/transport.ts';
import { consumerFixture, eventMessage } from '../support/consumer.ts';
import { uniqueName } from '../support/env.ts';
import { groupCommitHelpers } from '../support/group-commit.ts';
import { createTopic } from '../support/kafka.ts';
import { stepEvent } from '../support/kill-at-ack.ts';
import { waitFor } from '../support/relay-process.ts';

describe("consumers with the inbox: a key's messages in runs", () => {
  const fixture = consumerFixture();
  const { transport } = fixture;
  const { record, effects, settle, withThrowers, withRefusedDeadLetter } = groupCommitHelpers(fixture);

  /** A one-partition topic with `count` events on `keys` keys (event i on key i % keys), published before any consumer reads it. */
  const published = async (count: number, keys: number, copies: (i: number) => boolean = () => false) => {
    const topic = await createTopic(1);
    const Def = stepEvent(topic);
    const messages: OutgoingMessage[] = [];
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const key = `k${i % keys}`;
      const m = eventMessage(topic, Def.type, { key, seq: i }, { key });
      ids.push(m.id);
      messages.push(m);
      // A copy of the same event right behind it, as a relay that failed over publishes one.
      if (copies(i)) messages.push(m);
    }
    await transport.publish(messages);
    return { Def, ids, deliveries: messages.length };
  };
  const consumerOf = (options: Partial<ConsumerOptions> = {}) =>
    createConsumer({
      transport,
      group: uniqueName('g'),
      db: fixture.db.pool,
      schema: fixture.db.schema,
      concurrency: 4,
      deadLetterTopic: false,
      ...options,
    });
  /** Each key's effects (seq % keys) committed in the order of its events. */
  const inKeyOrder = (rows: { seq: number }[], keys: number) => {
    for (let k = 0; k < keys; k++) {
      const seqs = rows.map((r) => r.seq).filter((s) => s % keys === k);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
        `key k${k} committed in order`,
      );
    }
  };

  it('commits several consecutive messages of a key in one transaction, in order, with their inbox rows; a copy in the run is skipped alone', async () => {
    const { Def, ids, deliveries } = await published(300, 3, (i) => i % 10 === 0);
    const consumer = consumerOf();
    consumer.on(Def, (event, { tx }) => record(tx as never, event));
    await settle(consumer, deliveries, { duplicates: true });
    const rows = await effects(ids);
    assert.equal(rows.length, 300);
    assert.equal(new Set(rows.map((r) => r.event_id)).size, 300, 'no effect twice');
    inKeyOrder(rows, 3);
    assert.equal(consumer.stats().duplicates, 30, 'each copy skipped');
    // One message of a key per transaction would take at least 100 (three keys side by side).
    const transactions = new Set(rows.map((r) => r.txid)).size;
    assert.ok(transactions <= 60, `300 messages of three keys committed in ${transactions} transactions`);
    const inbox = await fixture.db.pool.query(
      `SELECT count(*)::int AS n FROM "${fixture.db.schema}".inbox WHERE event_id = ANY($1)`,
      [ids],
    );
    assert.equal(inbox.rows[0].n, 300, 'an inbox row per event');
  });

  it('a handler that throws in a run: it is retried alone, counted from its try in the run, and its key stays in order', async () => {
    const { Def, ids } = await published(120, 2);
    const flaky = ids[30] as string; // fails once
    const poison = ids[71] as string; // fails every time
    const consumer = consumerOf({ retry: { attempts: 2, initialMs: 10, maxMs: 20 } });
    const rows = await withThrowers(consumer, Def, ids, flaky, poison);
    inKeyOrder(rows, 2);
    const transactions = new Set(rows.map((r) => r.txid)).size;
    assert.ok(transactions < 60, `119 effects in ${transactions} transactions: runs formed around the failures`);
  });

  it('a dead letter that cannot be recorded holds its key from that message on; the other key goes on, nothing is lost or run twice', async () => {
    const { Def, ids } = await published(100, 2);
    const earlier = ids[40] as string; // key k0, dead-lettered at once
    const poison = ids[50] as string; // key k0, its dead letter refused for a while
    const consumer = consumerOf({ retry: { attempts: 1, initialMs: 10, maxMs: 50 } });
    const rows = await withRefusedDeadLetter(consumer, Def, ids, earlier, poison, async () => {
      await waitFor('the other key', async () => (await effects(ids)).filter((r) => r.seq % 2 === 1).length === 50);
      const held = await effects(ids);
      assert.ok(
        held.filter((r) => r.seq % 2 === 0).every((r) => r.seq < 50),
        `nothing of its key after the poison message ran while its dead letter could not be recorded (${held.length} effects)`,
      );
    });
    inKeyOrder(rows, 2);
  });
});
