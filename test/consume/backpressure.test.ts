import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAckTracker, heldPerInFlight } from '../../src/consume/ordering.ts';
import type { Delivery } from '../../src/transports/transport.ts';

const acked: string[] = [];
const delivery = (partition: number, offset: number): Delivery => ({
  topic: 't',
  partition,
  offset: String(offset),
  key: `k-${offset}`,
  value: Buffer.from('{}'),
  headers: {},
  ack: async () => {
    acked.push(`${partition}/${offset}`);
  },
});

/** Whether waitForRoom() resolves now (after pending microtasks). */
async function hasRoom(tracker: ReturnType<typeof createAckTracker>): Promise<boolean> {
  let resolved = false;
  void tracker.waitForRoom().then(() => {
    resolved = true;
  });
  await new Promise((r) => setImmediate(r));
  return resolved;
}

describe('the ack tracker (backpressure on fetching)', () => {
  it('counts handled messages held for an earlier one apart from the work not yet handled', async () => {
    acked.length = 0;
    const tracker = createAckTracker({ maxInFlight: 2, onAckError: () => {} });
    tracker.track(delivery(0, 1)); // a slow head, still running
    const second = tracker.track(delivery(0, 2));
    assert.equal(await hasRoom(tracker), false, 'two not yet handled: no room');
    second();
    // Handled, but held for offset 1: not acknowledged, and no longer work in flight.
    assert.deepEqual(acked, []);
    assert.equal(tracker.inFlight, 2);
    assert.equal(await hasRoom(tracker), true, 'one not yet handled: room again');
  });

  it('still stops fetching when held messages reach heldPerInFlight x maxInFlight, and acks the prefix', async () => {
    acked.length = 0;
    const tracker = createAckTracker({ maxInFlight: 1, onAckError: () => {} });
    const head = tracker.track(delivery(0, 0));
    for (let i = 1; i < heldPerInFlight; i++) tracker.track(delivery(0, i))();
    assert.equal(tracker.inFlight, heldPerInFlight);
    assert.equal(await hasRoom(tracker), false, 'the head is stuck: fetching stops');
    head();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(acked, [`0/${heldPerInFlight - 1}`], 'one acknowledgement, for the whole prefix');
    assert.equal(tracker.inFlight, 0);
    assert.equal(await hasRoom(tracker), true);
  });
});
