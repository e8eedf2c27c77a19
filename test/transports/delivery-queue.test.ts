import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDeliveryQueue } from '../../src/transports/delivery-queue.ts';

const settled = async (p: Promise<unknown>) =>
  Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), 20))]);

describe('delivery queue', () => {
  it('gives items in arrival order, to a reader waiting or later', async () => {
    const q = createDeliveryQueue<number>();
    const waiting = q.next();
    q.push(1);
    q.push(2);
    q.push(3);
    assert.deepEqual(await waiting, { value: 1, done: false });
    assert.deepEqual(await q.next(), { value: 2, done: false });
    assert.deepEqual(await q.next(), { value: 3, done: false });
    assert.equal(q.size, 0);
  });

  it('holds fetching back while `limit` items wait, and lets it go as the reader takes them', async () => {
    const q = createDeliveryQueue<number>(2);
    await q.room();
    q.push(1);
    q.push(2);
    const room = q.room();
    assert.equal(await settled(room), false, 'full: no room');
    await q.next();
    assert.equal(await settled(room), true, 'room once one is taken');
  });

  it('delivers a failure at the next read, dropping what waited', async () => {
    const q = createDeliveryQueue<number>(1);
    q.push(1);
    const room = q.room();
    q.fail(new Error('gone'));
    assert.equal(await settled(room), true, 'a fetch loop waiting for room is let go');
    assert.equal(q.finished, true);
    await assert.rejects(q.next(), /gone/);
    await assert.rejects(q.next(), /gone/);
    q.push(2);
    assert.equal(q.size, 0, 'nothing is added after a failure');
  });

  it('ends cleanly: a waiting read is done, nothing buffered or pushed later is read', async () => {
    const q = createDeliveryQueue<number>();
    const it = q[Symbol.asyncIterator]();
    q.push(1);
    assert.deepEqual(await it.next(), { value: 1, done: false });
    const waiting = it.next();
    q.end();
    assert.deepEqual(await waiting, { value: undefined, done: true });
    const q2 = createDeliveryQueue<number>();
    q2.push(1);
    q2.push(2);
    q2.end();
    q2.push(3);
    assert.deepEqual(await q2.next(), { value: undefined, done: true }, 'nothing is read after end');
    q2.fail(new Error('late'));
    assert.deepEqual(await q2.next(), { value: undefined, done: true }, 'a failure after the end is not read');
  });

  it('ends reads after a failure too, once ended (a subscription closed after it failed)', async () => {
    const q = createDeliveryQueue<number>();
    q.fail(new Error('gone'));
    q.end();
    assert.deepEqual(await q.next(), { value: undefined, done: true });
  });

  it('discards the waiting items a predicate picks, and makes room', async () => {
    const q = createDeliveryQueue<number>(3);
    for (const n of [1, 2, 3]) q.push(n);
    const room = q.room();
    q.discard((n) => n % 2 === 1);
    assert.equal(await settled(room), true);
    assert.deepEqual(await q.next(), { value: 2, done: false });
    assert.equal(q.size, 0);
  });

  it("an iterator's return() ends that iterator, not the queue", async () => {
    const q = createDeliveryQueue<number>();
    const first = q[Symbol.asyncIterator]();
    await first.return?.();
    q.push(1);
    assert.deepEqual(await first.next(), { value: undefined, done: true });
    assert.deepEqual(await q[Symbol.asyncIterator]().next(), { value: 1, done: false });
  });
});
