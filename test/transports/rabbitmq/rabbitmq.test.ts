/**
 * What the RabbitMQ transport does beyond the conformance suite: unroutable messages fail the
 * batch, `.dlq` destinations keep their messages, RabbitMQ's own dead letters land in the DLX
 * queue, a closed connection ends a subscription with an error, acknowledgements are prefixes,
 * lag counts ready messages, and a group's second member takes over from the first. The
 * connection is closed on a private node (infra/rabbitmq.mjs), not on the shared broker.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { privateRabbitMq } from '../../../infra/rabbitmq.mjs';
import { isHeraldError } from '../../../src/errors.ts';
import { rabbitmq } from '../../../src/transports/rabbitmq/index.ts';
import { partitionOf, queueName } from '../../../src/transports/rabbitmq/topology.ts';
import type { Delivery, Subscription, Transport } from '../../../src/transports/transport.ts';
import { eventMessage } from '../../support/consumer.ts';
import { uniqueName } from '../../support/env.ts';
import { orSkip } from '../../support/private.ts';
import {
  createRegistry,
  rabbitmqctl,
  rabbitmqUrl,
  readQueues,
  waitForRabbitMQ,
  withChannel,
} from '../../support/rabbitmq.ts';

const destinations = createRegistry();
const transport = rabbitmq({ url: rabbitmqUrl, partitions: destinations.partitionsOf, timeoutMs: 3000 });
/** subscribe() of a RabbitMQ transport, one group and topic at a time. */
const subscriber = (of: Transport) => (group: string, topic: string) =>
  (of.subscribe as NonNullable<Transport['subscribe']>)({ group, topics: [topic] });
const subscribe = subscriber(transport);

after(async () => {
  await transport.close();
  await waitForRabbitMQ();
  await destinations.cleanUp();
});

/** The next delivery, or null after `ms`. */
async function next(it: AsyncIterator<Delivery>, ms = 5000): Promise<Delivery | null> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([it.next(), new Promise<null>((res) => (timer = setTimeout(() => res(null), ms)))]);
  clearTimeout(timer);
  return r === null || r.done ? null : r.value;
}

/** Polls `check` until it is true (10 s at most). */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, 'timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function take(subscription: Subscription, count: number): Promise<Delivery[]> {
  const it = subscription[Symbol.asyncIterator]();
  const out: Delivery[] = [];
  while (out.length < count) {
    const d = await next(it);
    if (!d) break;
    out.push(d);
  }
  return out;
}

describe('rabbitmq transport', () => {
  it('fails a batch with a message no queue takes, and publishes once a group has subscribed', async () => {
    const group = uniqueName('g');
    const destination = destinations.name(2, [group]);
    const m = eventMessage(destination, 't', { n: 1 }, { key: 'a' });
    await assert.rejects(transport.publish([m]), (e) => {
      assert.ok(isHeraldError(e, 'HERALD_PUBLISH_FAILED') && e.retriable, String(e));
      assert.deepEqual(e.details.returned, [m.id]);
      return true;
    });
    const subscription = await subscribe(group, destination);
    try {
      await transport.publish([m]);
      const [d] = await take(subscription, 1);
      assert.equal(d?.headers.ce_id, m.id);
      assert.equal(d?.key, 'a');
      assert.equal(d?.partition, partitionOf('a', 2));
      await d?.ack();
    } finally {
      await subscription.close();
    }
  });

  it('keeps what is published to a .dlq destination in a queue of that name, with no group', async () => {
    const base = destinations.name(1, []);
    const dlq = `${base}.dlq`;
    const m = eventMessage(dlq, 't', { n: 1 }, { key: 'a' });
    await transport.publish([m]);
    const [raw] = await readQueues([dlq], 1);
    assert.equal(raw?.messageId, m.id);
    assert.equal(raw?.headers.cloudEvents_id, m.id);
  });

  it('fails a batch RabbitMQ nacks (a full queue refusing) as retriable, and publishes again', async () => {
    const group = uniqueName('g');
    const destination = await destinations.make(1, [group]);
    const policy = uniqueName('herald-test-policy');
    // A length limit of 1: with the queues' reject-publish overflow, a second message is nacked.
    await rabbitmqctl('set_policy', policy, `^${destination}\\.`, '{"max-length":1}', '--apply-to', 'queues');
    try {
      await waitFor(async () => {
        await transport.publish([eventMessage(destination, 't', { n: 0 }, { key: 'a' })]).catch(() => {});
        return transport
          .publish([eventMessage(destination, 't', { n: 1 }, { key: 'a' })])
          .then(() => false)
          .catch((e) => {
            assert.ok(isHeraldError(e, 'HERALD_PUBLISH_FAILED') && e.retriable, String(e));
            return true;
          });
      });
    } finally {
      await rabbitmqctl('clear_policy', policy);
    }
    await transport.publish([eventMessage(destination, 't', { n: 2 }, { key: 'a' })]);
  });

  it("keeps what RabbitMQ itself dead-letters (a reject) in the destination's .dlx queue", async () => {
    const group = uniqueName('g');
    const destination = await destinations.make(1, [group]);
    const m = eventMessage(destination, 't', { n: 1 }, { key: 'a' });
    await transport.publish([m]);
    await withChannel(async (channel) => {
      await new Promise<void>((resolve) => {
        void channel.consume(queueName(destination, group, 0), (msg) => {
          if (msg) channel.reject(msg, false);
          resolve();
        });
      });
      // Closing the channel is a handshake: the reject is handled before the connection closes.
      await channel.close();
    });
    const [raw] = await readQueues([`${destination}.dlx`], 1);
    assert.equal(raw?.messageId, m.id);
  });

  it('acknowledges prefixes (an earlier or repeated ack is a no-op) and counts ready messages as lag', async () => {
    const group = uniqueName('g');
    const destination = await destinations.make(1, [group]);
    await transport.publish(
      Array.from({ length: 6 }, (_, seq) => eventMessage(destination, 't', { seq }, { key: 'a' })),
    );
    const subscription = await subscribe(group, destination);
    try {
      const got = await take(subscription, 6);
      assert.equal(got.length, 6);
      assert.deepEqual(
        got.map((d) => d.offset),
        ['1', '2', '3', '4', '5', '6'],
      );
      await got[3]?.ack();
      await got[1]?.ack(); // covered by the ack of the fourth
      await got[3]?.ack();
      const lag = await subscription.lag();
      assert.deepEqual(lag, [{ topic: destination, partition: 0, lag: 0 }], 'RabbitMQ only counts: no positions');
    } finally {
      await subscription.close();
    }
    const second = await subscribe(group, destination);
    try {
      const again = await take(second, 2);
      assert.deepEqual(
        again.map((d) => JSON.parse(d.value.toString()).seq),
        [4, 5],
        'the channel survived the repeated acks: the first four stayed acknowledged',
      );
      const lag = await second.lag();
      assert.equal(lag[0]?.lag, 0, 'the two left are delivered, not ready');
    } finally {
      await second.close();
    }
  });

  it("lets a group's second member take over when the first closes, in order", async () => {
    const group = uniqueName('g');
    const destination = await destinations.make(2, [group]);
    const messages = Array.from({ length: 20 }, (_, seq) =>
      eventMessage(destination, 't', { seq }, { key: `k${seq % 4}` }),
    );
    await transport.publish(messages);
    const first = await subscribe(group, destination);
    const second = await subscribe(group, destination);
    try {
      const got = await take(first, 20);
      assert.equal(got.length, 20, 'single active consumer: the first member has every partition');
      // A standby member gets nothing while the first is active.
      const standby = second[Symbol.asyncIterator]();
      const pending = standby.next();
      const early = await Promise.race([
        pending.then(() => 'delivered'),
        new Promise((r) => setTimeout(() => r('idle'), 500)),
      ]);
      assert.equal(early, 'idle');
      await first.close();
      const again = [(await pending).value as Delivery];
      again.push(...(await take(second, 19)));
      assert.deepEqual(again.map((d) => d.headers.ce_id).sort(), messages.map((m) => m.id).sort());
      for (const key of ['k0', 'k1', 'k2', 'k3']) {
        const seqs = again.filter((d) => d.key === key).map((d) => JSON.parse(d.value.toString()).seq as number);
        assert.deepEqual(
          seqs,
          [...seqs].sort((a, b) => a - b),
          key,
        );
      }
      for (const d of again) await d.ack();
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('ends a subscription with an error when its connection closes; the publisher reconnects', async (t) => {
    // `rabbitmqctl close_all_connections` closes every connection of a broker: a node of the
    // test's own, not the shared one (which may be the user's, with their applications on it).
    const node = await orSkip(t, () => privateRabbitMq());
    if (!node) return;
    const own = createRegistry(node.url);
    // This test's transport and subscribe() are on that node.
    const transport = rabbitmq({ url: node.url, partitions: own.partitionsOf, timeoutMs: 3000 });
    const subscribe = subscriber(transport);
    t.after(async () => {
      await transport.close();
      await node.destroy();
    });
    const group = uniqueName('g');
    const destination = await own.make(1, [group]);
    await transport.publish([eventMessage(destination, 't', { n: 1 }, { key: 'a' })]);
    const subscription = await subscribe(group, destination);
    const it = subscription[Symbol.asyncIterator]();
    const first = await next(it);
    assert.ok(first);
    await node.ctl('close_all_connections', 'herald test: connection closed');
    await assert.rejects(
      it.next(),
      (e) => isHeraldError(e, 'HERALD_BROKER_UNAVAILABLE') && e.retriable && /connection closed/i.test(e.message),
    );
    await assert.rejects(first.ack(), (e) => isHeraldError(e, 'HERALD_BROKER_UNAVAILABLE'));
    await subscription.close();
    await transport.publish([eventMessage(destination, 't', { n: 2 }, { key: 'a' })]);
    const again = await subscribe(group, destination);
    try {
      const got = await take(again, 2);
      assert.deepEqual(
        got.map((d) => JSON.parse(d.value.toString()).n),
        [1, 2],
      );
    } finally {
      await again.close();
    }
  });
});
