import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { kafka } from '../../../src/transports/kafka/index.ts';
import { eventMessage } from '../../support/consumer.ts';
import { brokers } from '../../support/env.ts';
import { createTopic } from '../../support/kafka.ts';

/** Open TCP sockets in this process. */
const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

// A consumer's first dead letters are published by several runs at once on a transport that has
// not published yet. Each of those calls must get the same producer: one made by each call and
// kept by none stays connected after close() and keeps the process alive (seen as a leaked
// socket to the broker after the decode fuzz).
describe('kafka(): the producer', () => {
  it('is one for publishes that start together, and close() leaves no connection open', async () => {
    const topic = await createTopic(2, 'herald-producer');
    const before = sockets();
    const transport = kafka({ brokers });
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => transport.publish([eventMessage(topic, 'producer.tested', { i })])),
    );
    assert.ok(sockets() > before, 'the producer is connected');
    await transport.close();
    const end = Date.now() + 5000;
    while (sockets() > before && Date.now() < end) await sleep(50);
    assert.equal(sockets(), before, 'connections open after close()');
  });
});
