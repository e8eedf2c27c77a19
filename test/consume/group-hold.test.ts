import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGroupCost, type GroupTiming } from '../../src/consume/group.ts';
import { testGroupCommit } from '../support/group-scheduling.ts';

/**
 * A group commit whose groups run until the test opens their gate. `handlersShare` is the part of
 * a group's time its run reports as handlers': near 0 for handlers that only write to the
 * database (the transaction costs more), near 1 for handlers that wait on another service.
 */
function harness(handlersShare: number) {
  const started: number[][] = [];
  const gates: (() => void)[] = [];
  const controller = new AbortController();
  const groups = testGroupCommit(
    controller.signal,
    async (items: number[], timing: GroupTiming) => {
      started.push(items);
      const from = performance.now();
      await new Promise<void>((resolve) => gates.push(resolve));
      timing.handlersMs += (performance.now() - from) * handlersShare;
      return items.map(() => ({ ok: true as const, value: 'handled' }));
    },
    // The hold alone: how many groups run at once is group-limit.test.ts's.
    { limit: () => 16, record: () => {} },
  );
  /** Waits until `n` groups have started. */
  const untilStarted = async (n: number) => {
    while (started.length < n) await new Promise((resolve) => setImmediate(resolve));
  };
  /** One group of one, open for `ms`: what the cost is first learnt from (its mean time is the hold's bound). */
  const warmUp = async (ms: number) => {
    const done = groups.add(0);
    await untilStarted(1);
    await sleep(ms);
    gates.shift()?.();
    await done;
  };
  const openAll = () => {
    for (const open of gates.splice(0)) open();
  };
  return { groups, started, gates, untilStarted, warmUp, openAll, controller };
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('group commit holds small groups back while others run, where handlers cost less than a transaction', () => {
  it('events that come while two groups run wait, and start as one group when a running one finishes', async () => {
    const h = harness(0.01);
    await h.warmUp(1000); // the hold's bound: about a second, far beyond this test's steps
    const first = h.groups.add(1);
    await h.untilStarted(2);
    const second = h.groups.add(2); // one group runs: it starts
    await h.untilStarted(3);
    const late = [3, 4, 5, 6, 7, 8].map((n) => h.groups.add(n));
    await turns(10);
    assert.equal(h.started.length, 3, 'the six that came while two groups ran wait for one of them');
    h.gates.shift()?.();
    await h.untilStarted(4);
    assert.deepEqual(h.started.at(-1), [3, 4, 5, 6, 7, 8], 'they start as one group');
    h.openAll();
    await Promise.all([first, second, ...late]);
    h.controller.abort();
  });

  it('events held back start once the oldest has waited a group’s mean time, though no running group finished', async () => {
    const h = harness(0.01);
    await h.warmUp(50);
    const running = [h.groups.add(1)];
    await h.untilStarted(2);
    running.push(h.groups.add(2));
    await h.untilStarted(3);
    const held = h.groups.add(3);
    await h.untilStarted(4); // without the bound it would wait for the gates below, never opened before
    assert.deepEqual(h.started.at(-1), [3]);
    assert.equal(h.gates.length, 3, 'both earlier groups were still running');
    h.openAll();
    await Promise.all([...running, held]);
    h.controller.abort();
  });

  it('events whose handlers cost more than a transaction (a call to another service) start at once, side by side', async () => {
    const h = harness(0.99);
    await h.warmUp(1000); // were they held, it would be for about a second
    const all = [1, 2, 3].map((n) => h.groups.add(n));
    await h.untilStarted(2);
    for (const n of [4, 5, 6]) {
      all.push(h.groups.add(n));
      await sleep(20);
    }
    assert.deepEqual(
      h.started.slice(1),
      [[1], [2], [3], [4], [5], [6]],
      'each started its own group while the others ran',
    );
    h.openAll();
    await Promise.all(all);
    h.controller.abort();
  });
});

describe('createGroupCost: when holding is worth it, and how many groups still start at once', () => {
  it('holds where an event’s handlers cost less than a transaction, and lets as many groups run as twice the connections the handlers keep busy', async () => {
    const cost = createGroupCost();
    assert.equal(cost.worthHolding(), false, 'nothing measured yet: nothing held');
    assert.equal(cost.holdBelow(), 2);
    await sleep(110);
    // A group of 64 in 30 ms, 6 of them in its handlers: 0.1 ms an event against a 24 ms transaction.
    cost.record(30, 6.4, 64);
    assert.equal(cost.worthHolding(), true);
    assert.equal(cost.holdBelow(), 2, 'handlers busy a tenth of the time: two groups at once are enough');
    assert.ok(cost.holdMs() > 0);
    // Over the next three windows the handlers kept five connections busy (550 ms of handlers in 110).
    for (let i = 0; i < 3; i++) {
      await sleep(110);
      cost.record(30, 550, 64);
    }
    assert.ok(cost.holdBelow() >= 6, `about ten groups may run before small ones wait: ${cost.holdBelow()}`);
    // Handlers that take longer than the transaction: nothing is held.
    for (let i = 0; i < 50; i++) cost.record(60, 50, 1);
    assert.equal(cost.worthHolding(), false);
  });
});
