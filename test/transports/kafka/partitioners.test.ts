import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isHeraldError } from '../../../src/errors.ts';
import { kafka } from '../../../src/transports/kafka/index.ts';
import type { OutgoingMessage } from '../../../src/transports/transport.ts';
import { eventMessage } from '../../support/consumer.ts';
import { brokers } from '../../support/env.ts';
import { createTopic, readTopic } from '../../support/kafka.ts';

const withUser = (m: OutgoingMessage, userId: string): OutgoingMessage => ({
  ...m,
  headers: { ...m.headers, ce_userid: userId },
});

describe('kafka(): partitioners', () => {
  const closing: { close(): Promise<void> }[] = [];
  after(async () => {
    for (const c of closing) await c.close();
  });

  it('key hash by default, round-robin and custom partitioners per event type', async () => {
    const topic = await createTopic(4, 'herald-partitioners');
    // #region partitioners
    const transport = kafka({
      brokers,
      // partitioner: 'key-hash' is the default: one key's events in order.
      partitionerByType: {
        'audit.recorded': 'round-robin', // no order needed: spread evenly
        'user.created': (event) => event.headers.ce_userid ?? event.key, // a user's events together
        'report.ready': () => 3, // a fixed partition (modulo the topic's partition count)
      },
    });
    // #endregion partitioners
    closing.push(transport);

    const messages: OutgoingMessage[] = [];
    for (let i = 0; i < 8; i++) messages.push(eventMessage(topic, 'audit.recorded', { i }, { key: 'same-key' }));
    for (let i = 0; i < 6; i++) {
      messages.push(withUser(eventMessage(topic, 'user.created', { i }, { key: `account-${i}` }), 'user-42'));
    }
    messages.push(eventMessage(topic, 'order.placed', { i: 0 }, { key: 'user-42' }));
    messages.push(eventMessage(topic, 'report.ready', { i: 0 }, { key: 'r' }));
    await transport.publish(messages);

    const read = await readTopic(topic, messages.length);
    assert.equal(read.length, messages.length);
    const partitionsOf = (type: string) => read.filter((r) => r.headers.ce_type === type).map((r) => r.partition);

    const audit = partitionsOf('audit.recorded');
    assert.deepEqual(
      [0, 1, 2, 3].map((p) => audit.filter((x) => x === p).length),
      [2, 2, 2, 2],
      'round-robin: one key spread over every partition in turn',
    );
    const users = partitionsOf('user.created');
    const [keyed] = partitionsOf('order.placed');
    assert.equal(new Set(users).size, 1, 'one user, six keys: one partition');
    assert.equal(users[0], keyed, "the user id hashed like a key: where the key 'user-42' goes by default");
    assert.deepEqual(partitionsOf('report.ready'), [3]);
  });

  it('a bad partitioner is refused at kafka(), a bad partition at publish, both as HERALD_INVALID_CONFIG', async () => {
    assert.throws(
      () => kafka({ brokers, partitioner: 'random' as never }),
      (e) => isHeraldError(e) && e.code === 'HERALD_INVALID_CONFIG' && /partitioner: "random" must be/.test(e.message),
    );
    assert.throws(
      () => kafka({ brokers, partitionerByType: { 'a.b': 7 as never } }),
      (e) => isHeraldError(e) && e.code === 'HERALD_INVALID_CONFIG' && /partitionerByType\['a\.b'\]/.test(e.message),
    );
    const topic = await createTopic(2, 'herald-partitioners-bad');
    const transport = kafka({ brokers, partitioner: () => -1 });
    closing.push(transport);
    await assert.rejects(
      transport.publish([eventMessage(topic, 'x.y', {}, { key: 'k' })]),
      (e) =>
        isHeraldError(e) &&
        e.code === 'HERALD_INVALID_CONFIG' &&
        /the partitioner of x\.y: -1 must return/.test(e.message),
    );
  });
});
