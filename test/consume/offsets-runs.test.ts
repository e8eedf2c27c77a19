import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConsumerOptions, createConsumer } from '../../src/index.ts';
import type { Delivery } from '../../src/transports/transport.ts';
import { consumerFixture, eventMessage } from '../support/consumer.ts';
import { uniqueName } from '../support/env.ts';
import { groupCommitHelpers } from '../support/group-commit.ts';
import { createTopic } from '../support/kafka.ts';
import { reshaped, stepEvent } from '../support/kill-at-ack.ts';

describe("consumers: offsets: 'database', a partition's messages in runs", () => {
  const fixture = consumerFixture();
  const { transport } = fixture;
  const { record, effects, settle, deadLetters, withThrowers, withRefusedDeadLetter } = groupCommitHelpers(fixture);

  /** `count` messages on a new one-partition topic, published before any consumer reads it. */
  const published = async (count: number) => {
    const topic = await createTopic(1);
    const Def = stepEvent(topic);
    const messages = Array.from({ length: count }, (_, i) =>
      eventMessage(topic, Def.type, { key: `k${i % 7}`, seq: i }, { key: `k${i % 7}` }),
    );
    await transport.publish(messages);
    return { topic, Def, messages, ids: messages.map((m) => m.id) };
  };
  const positioned = (group: string, options: Partial<ConsumerOptions> = {}) =>
    createConsumer({
      transport,
      group,
      db: fixture.db.pool,
      schema: fixture.db.schema,
      offsets: 'database',
      concurrency: 4,
      deadLetterTopic: false,
      ...options,
    });
  const position = async (group: string, topic: string) =>
    (
      await fixture.db.pool.query<{ next: number }>(
        `SELECT next_offset::int AS next FROM "${fixture.db.schema}".consumer_offsets
         WHERE consumer_group = $1 AND topic = $2 AND partition = 0`,
        [group, topic],
      )
    ).rows[0]?.next;
  /** The effects' seqs in commit order are the partition's order. */
  const inPartitionOrder = (rows: { seq: number }[]) =>
    assert.deepEqual(
      rows.map((r) => r.seq),
      rows.map((r) => r.seq).sort((a, b) => a - b),
      'committed in offset order',
    );

  it('commits several consecutive messages of a partition in one transaction, in offset order, each once', async () => {
    const { topic, Def, ids } = await published(300);
    const group = uniqueName('g');
    const consumer = positioned(group);
    consumer.on(Def, (event, { tx }) => record(tx as never, event));
    await settle(consumer, 300);
    const rows = await effects(ids);
    assert.equal(rows.length, 300);
    assert.equal(new Set(rows.map((r) => r.event_id)).size, 300, 'no effect twice');
    inPartitionOrder(rows);
    const transactions = new Set(rows.map((r) => r.txid)).size;
    assert.ok(transactions <= 60, `300 messages of one partition committed in ${transactions} transactions`);
    assert.equal(await position(group, topic), 300, 'the position is past the last message');
    const inbox = await fixture.db.pool.query(
      `SELECT count(*)::int AS n FROM "${fixture.db.schema}".inbox WHERE event_id = ANY($1)`,
      [ids],
    );
    assert.equal(inbox.rows[0].n, 0, 'no inbox rows');
  });

  it('a handler that throws in a run: it is retried alone, counted from its try in the run, and the partition stays in order', async () => {
    const { topic, Def, ids } = await published(120);
    const flaky = ids[30] as string; // fails once
    const poison = ids[70] as string; // fails every time
    const group = uniqueName('g');
    const consumer = positioned(group, { retry: { attempts: 2, initialMs: 10, maxMs: 20 } });
    const rows = await withThrowers(consumer, Def, ids, flaky, poison);
    inPartitionOrder(rows);
    assert.equal(await position(group, topic), 120);
    const transactions = new Set(rows.map((r) => r.txid)).size;
    assert.ok(transactions < 119, `119 effects in ${transactions} transactions: runs formed around the failures`);
  });

  it('a message that is not ordinary splits a run: it is given up on in its place, the runs around it commit together', async () => {
    const topic = await createTopic(1);
    const Def = stepEvent(topic);
    const messages = Array.from({ length: 100 }, (_, i) =>
      eventMessage(topic, i === 40 ? 'no.such.type' : Def.type, { key: 'k', seq: i }, { key: 'k' }),
    );
    await transport.publish(messages);
    const ids = messages.map((m) => m.id);
    const group = uniqueName('g');
    const consumer = positioned(group, { onUnknownType: 'dead-letter' });
    consumer.on(Def, (event, { tx }) => record(tx as never, event));
    await settle(consumer, 100);
    const rows = await effects(ids);
    assert.equal(rows.length, 99);
    inPartitionOrder(rows);
    const dead = await deadLetters([ids[40] as string]);
    assert.equal(dead[0]?.error_code, 'HERALD_UNKNOWN_EVENT_TYPE');
    const transactions = new Set(rows.map((r) => r.txid)).size;
    assert.ok(transactions <= 20, `99 effects in ${transactions} transactions`);
    assert.equal(await position(group, topic), 100);
  });

  it('a stored position inside a run (a second delivery): the messages below it are skipped, the rest handled as a run', async () => {
    const { topic, Def, ids } = await published(50);
    const group = uniqueName('g');
    await fixture.db.pool.query(
      `INSERT INTO "${fixture.db.schema}".consumer_offsets (consumer_group, topic, partition, next_offset)
       VALUES ($1, $2, 0, 25)`,
      [group, topic],
    );
    const consumer = positioned(group);
    consumer.on(Def, (event, { tx }) => record(tx as never, event));
    await settle(consumer, 25);
    const rows = await effects(ids);
    assert.deepEqual(
      rows.map((r) => r.seq),
      Array.from({ length: 25 }, (_, i) => 25 + i),
      'only the messages at or past the stored position, in order',
    );
    assert.equal(consumer.stats().duplicates, 25);
    assert.equal(await position(group, topic), 50);
    const transactions = new Set(rows.map((r) => r.txid)).size;
    assert.ok(transactions <= 5, `the rest ran as a run: 25 effects in ${transactions} transactions`);
  });

  it('a message given up on moves the position past it at once, also as the last of its partition', async () => {
    const { topic, Def, ids } = await published(10);
    const last = ids[9] as string;
    const group = uniqueName('g');
    const consumer = positioned(group, { retry: { attempts: 1, initialMs: 10, maxMs: 20 } });
    consumer.on(Def, async (event, { tx }) => {
      await record(tx as never, event);
      if (event.id === last) throw new Error('poison');
    });
    await settle(consumer, 10);
    assert.equal((await effects(ids)).length, 9);
    assert.equal((await deadLetters([last])).length, 1);
    assert.equal(await position(group, topic), 10, 'a restart would not run the dead-lettered message again');
  });

  it('a message given up on before any handler (no handler for its type) moves the position past it too', async () => {
    const topic = await createTopic(1);
    const Def = stepEvent(topic);
    const messages = Array.from({ length: 10 }, (_, i) =>
      eventMessage(topic, i === 9 ? 'no.such.type' : Def.type, { key: 'k', seq: i }, { key: 'k' }),
    );
    await transport.publish(messages);
    const group = uniqueName('g');
    const consumer = positioned(group, { onUnknownType: 'dead-letter' });
    consumer.on(Def, (event, { tx }) => record(tx as never, event));
    await settle(consumer, 10);
    assert.equal((await deadLetters([messages[9]?.id as string]))[0]?.error_code, 'HERALD_UNKNOWN_EVENT_TYPE');
    assert.equal(await position(group, topic), 10, 'a restart would not give it up again');
  });

  it('copies of earlier offsets fetched after later ones (a partition read again) are skipped, not run in the same run', async () => {
    const { topic, Def, ids } = await published(30);
    // The first 10 deliveries come twice, as after a rebalance that reads from the committed offset.
    const again = reshaped(transport, async function* (inner) {
      const seen: Delivery[] = [];
      for await (const d of inner) {
        yield d;
        if (seen.length < 10 && seen.push(d) === 10) yield* seen;
      }
    });
    const group = uniqueName('g');
    const consumer = positioned(group, { transport: again });
    consumer.on(Def, (event, { tx }) => record(tx as never, event));
    await settle(consumer, 40, { duplicates: true });
    const rows = await effects(ids);
    assert.equal(rows.length, 30, 'one effect per message, none for the copies');
    inPartitionOrder(rows);
    assert.equal(consumer.stats().duplicates, 10);
    assert.equal(await position(group, topic), 30);
  });

  it('a dead letter that cannot be recorded holds its partition from that message on: what came before is not run again, and nothing is lost', async () => {
    const { topic, Def, ids } = await published(100);
    const earlier = ids[40] as string; // dead-lettered at once
    const poison = ids[50] as string; // its dead letter refused for a while
    const group = uniqueName('g');
    const consumer = positioned(group, { retry: { attempts: 1, initialMs: 10, maxMs: 50 } });
    const rows = await withRefusedDeadLetter(consumer, Def, ids, earlier, poison, async () => {
      const held = await effects(ids);
      assert.ok(
        held.every((r) => r.seq < 50),
        `nothing after the poison message ran while its dead letter could not be recorded (${held.length} effects)`,
      );
    });
    inPartitionOrder(rows);
    assert.equal(await position(group, topic), 100);
  });
});
