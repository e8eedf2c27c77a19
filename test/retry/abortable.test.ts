import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { abortableWaits, aborted, orAborted } from '../../src/retry/abortable.ts';

// The consumer waits on every delivery "unless stopped". Racing each wait against one promise
// that settles at stop added a reaction to that promise per delivery, holding every delivery
// until stop: a soak at 1,000 events/s grew by about 5 KB per event (docs/reliability.md).
describe('orAborted: a wait that can be cut short by stopping, and leaves nothing behind', () => {
  it('keeps no listener on the signal once the promise settled, however many waits', async () => {
    const stop = new AbortController();
    for (let i = 0; i < 10_000; i++) assert.equal(await orAborted(Promise.resolve(i), stop.signal), i);
    await assert.rejects(orAborted(Promise.reject(new Error('failed')), stop.signal), /failed/);
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
  });

  it('gives `aborted` when the signal fires first, and at once when it already had', async () => {
    const stop = new AbortController();
    const waiting = orAborted(new Promise(() => {}), stop.signal);
    stop.abort();
    assert.equal(await waiting, aborted);
    assert.equal(await orAborted(new Promise(() => {}), stop.signal), aborted);
  });
});

describe('abortableWaits: the same for a loop, with one listener for all its waits', () => {
  it('holds one listener however many waits, and none once closed', async () => {
    const stop = new AbortController();
    const waits = abortableWaits(stop.signal);
    for (let i = 0; i < 10_000; i++) assert.equal(await waits.wait(Promise.resolve(i)), i);
    await assert.rejects(waits.wait(Promise.reject(new Error('failed'))), /failed/);
    assert.equal(getEventListeners(stop.signal, 'abort').length, 1);
    waits.close();
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
  });

  it('gives `aborted` to the wait under way when the signal fires, and at once after', async () => {
    const stop = new AbortController();
    const waits = abortableWaits(stop.signal);
    assert.equal(await waits.wait(Promise.resolve('first')), 'first');
    const waiting = waits.wait(new Promise(() => {}));
    stop.abort();
    assert.equal(await waiting, aborted);
    assert.equal(await waits.wait(Promise.resolve('late')), aborted);
    waits.close();
  });
});
