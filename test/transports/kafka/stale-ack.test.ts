import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { kafka } from '../../../src/transports/kafka/index.ts';
import { fetchedEarlier } from '../../../src/transports/kafka/subscribe.ts';
import type { Delivery, Subscription } from '../../../src/transports/transport.ts';
import { eventMessage } from '../../support/consumer.ts';
import { brokers, uniqueName } from '../../support/env.ts';
import { createTopic } from '../../support/kafka.ts';

// A consumer that acknowledges a record fetched before the group rebalanced must not commit it:
// the partition may belong to another member now, and the commit would set the group's offset
// back (what the end-to-end chaos run saw as hundreds of thousands of duplicates after a paused
// consumer resumed). Real broker, two members of one group.
describe('kafka(): acknowledgements from an earlier membership of the group', () => {
  const closing: { close(): Promise<void> }[] = [];
  after(async () => {
    for (const c of closing.reverse()) await c.close();
  });

  const until = async <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(200);
    }
  };
  const committedOf = async (s: Subscription, partition: number) =>
    (await s.lag()).find((l) => l.partition === partition)?.committed ?? null;

  it('is not committed after a rebalance; what is fetched after it is', async () => {
    const topic = await createTopic(2, 'herald-stale-ack');
    const transport = kafka({ brokers, sessionTimeoutMs: 6000 });
    closing.push(transport);
    // One key: every record in one partition.
    await transport.publish(
      Array.from({ length: 8 }, (_, i) => eventMessage(topic, 'stale.tested', { i }, { key: 'k' })),
    );
    const group = uniqueName('herald-stale-ack');
    const a = await transport.subscribe({ group, topics: [topic] });
    closing.push(a);
    const fromA = a[Symbol.asyncIterator]();
    const first = (await fromA.next()).value as Delivery;
    await first.ack(); // committed: first + 1
    const old = (await fromA.next()).value as Delivery;
    const before = String(BigInt(first.offset) + 1n);
    assert.equal(await committedOf(a, old.partition), before);

    // A second member joins: the group rebalances and each member gets one partition.
    const b = await transport.subscribe({ group, topics: [topic] });
    closing.push(b);
    const fromB = b[Symbol.asyncIterator]();
    const nextOfB = fromB.next(); // B's fetching starts with its first read
    await until('each member to hold one partition', () =>
      a.assignment?.()[0]?.partitions.length === 1 && b.assignment?.()[0]?.partitions.length === 1 ? true : undefined,
    );

    await old.ack();
    await sleep(1500); // a commit the client queued would be sent by now
    assert.equal(await committedOf(a, old.partition), before, 'the stale acknowledgement moved the group offset');

    // The partition's owner reads it again from the group's offset, in the new membership: that commits.
    const owner = a.assignment?.()[0]?.partitions[0] === old.partition ? fromA : fromB;
    let read = owner === fromB ? await nextOfB : await owner.next();
    const committed = await until('the owner to commit past the stale record', async () => {
      const d = read.value as Delivery;
      if (d.partition === old.partition) await d.ack();
      const c = await committedOf(a, old.partition);
      if (c !== null && BigInt(c) > BigInt(old.offset)) return c;
      read = await owner.next();
      return undefined;
    });
    assert.ok(BigInt(committed) >= BigInt(old.offset) + 1n, `committed ${committed}`);
  });

  it('reads the membership from the record and the consumer', () => {
    const at = (generationId?: number) => ({
      metadata: generationId === undefined ? {} : { consumer: { generationId } },
    });
    const member = (generationId: number, active = true) => ({ generationId, isActive: () => active });
    assert.equal(fetchedEarlier(at(3), member(3)), false);
    assert.equal(fetchedEarlier(at(3), member(4)), true);
    assert.equal(
      fetchedEarlier(at(3), member(3, false)),
      true,
      'rejoining: the commit would wait for the next membership',
    );
    assert.equal(fetchedEarlier(at(), member(4)), false, 'no membership recorded: committed as before');
  });
});
