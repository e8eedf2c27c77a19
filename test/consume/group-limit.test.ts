import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GroupTiming } from '../../src/consume/group.ts';
import { createGroupLimit } from '../../src/consume/group-limit.ts';
import { testGroupCommit } from '../support/group-scheduling.ts';

describe('createGroupLimit: groups at once, by how long handlers take as more run', () => {
  it('starts at two and climbs to `concurrency` while handlers take as long however many run (a call to another service)', () => {
    const limit = createGroupLimit(16);
    assert.equal(limit.limit(), 2);
    for (let i = 0; i < 40; i++) limit.record(5, Math.min(2, limit.limit()), true);
    assert.equal(limit.limit(), 16);
  });

  it('does not climb while the limit is not what keeps events waiting', () => {
    const limit = createGroupLimit(16);
    for (let i = 0; i < 40; i++) limit.record(5, 2, false);
    assert.equal(limit.limit(), 2);
  });

  it('settles where the database queues the groups: handlers slower in proportion beyond two at once', () => {
    // As measured on two cores: 0.26 ms an event with two groups, 0.46 with four, 1.0 with eight, 1.9 with sixteen.
    const perEvent = (running: number) => 0.26 * Math.max(1, running / 2);
    const limit = createGroupLimit(16);
    const seen: number[] = [];
    for (let i = 0; i < 200; i++) {
      const running = limit.limit();
      limit.record(perEvent(running), running, true);
      seen.push(limit.limit());
    }
    const late = seen.slice(100);
    assert.ok(Math.max(...late) <= 8, `at most eight at once: ${Math.max(...late)}`);
    assert.ok(Math.min(...late) >= 3, `at least three at once: ${Math.min(...late)}`);
  });

  it('shrinks when the database slows under the same groups, down to the few that queue', () => {
    const limit = createGroupLimit(16);
    for (let i = 0; i < 40; i++) limit.record(1, 2, true);
    assert.equal(limit.limit(), 16);
    // Twenty times slower: nearly every group at once queues, and the limit keeps four.
    for (let i = 0; i < 100; i++) limit.record(20, 16, true);
    assert.equal(limit.limit(), 4);
  });
});

/**
 * Group commit over a simulated database of two cores: a group's handlers take `perEventMs` an
 * event, times the groups running beyond two when `sharesCores` (handlers that write), or not
 * (handlers that wait on another service); its transaction costs `fixedMs` more.
 */
async function drain(options: { items: number; perEventMs: number; fixedMs: number; sharesCores: boolean }) {
  const controller = new AbortController();
  let running = 0;
  let most = 0;
  let groups = 0;
  const commit = testGroupCommit(controller.signal, async (items: number[], timing: GroupTiming) => {
    running++;
    groups++;
    most = Math.max(most, running);
    const slower = options.sharesCores ? Math.max(1, running / 2) : 1;
    const handlersMs = items.length * options.perEventMs * slower;
    await sleep(handlersMs + options.fixedMs);
    timing.handlersMs += handlersMs;
    running--;
    return items.map(() => ({ ok: true as const, value: 'handled' }));
  });
  // A first group alone measures what a group costs; then the backlog.
  await commit.add(0);
  most = 0;
  await Promise.all(Array.from({ length: options.items }, (_, i) => commit.add(i + 1)));
  controller.abort();
  return { most, groups, limit: commit.groupsAtOnce() };
}

describe('group commit runs fewer groups at once where the database queues them', () => {
  it('handlers that write: a backlog runs in a few full groups at once, not sixteen of a third', async () => {
    const { most, groups, limit } = await drain({ items: 3000, perEventMs: 0.05, fixedMs: 8, sharesCores: true });
    // Vegas settles at four to six here; timers' jitter moves it, sixteen is what no limit gives.
    assert.ok(most <= 12, `at most twelve groups at once: ${most} (limit now ${limit})`);
    assert.ok(groups <= 3000 / 48, `groups near full: ${groups} for 3,000 events`);
  });

  it('handlers that wait on another service: as many groups at once as `concurrency`', async () => {
    const { most } = await drain({ items: 400, perEventMs: 5, fixedMs: 2, sharesCores: false });
    assert.equal(most, 16);
  });
});

describe('group commit: duplicates tell the limit nothing', () => {
  it('groups of duplicates (no handler ran) do not move the base: the limit stays up where the database does not queue', async () => {
    const controller = new AbortController();
    let duplicates = false;
    let running = 0;
    let most = 0;
    const commit = testGroupCommit(controller.signal, async (items: number[], timing: GroupTiming) => {
      running++;
      most = Math.max(most, running);
      // Handlers that write, on a database that does not slow down as more groups run.
      const handlersMs = duplicates ? 0 : items.length * 0.05;
      await sleep(handlersMs + 8);
      timing.handlersMs += handlersMs;
      timing.handled = duplicates ? 0 : items.length;
      running--;
      return items.map(() => ({ ok: true as const, value: duplicates ? 'duplicate' : 'handled' }));
    });
    const backlog = (from: number) => Promise.all(Array.from({ length: 3000 }, (_, i) => commit.add(from + i)));
    await commit.add(0);
    await backlog(1);
    assert.ok(commit.groupsAtOnce() >= 12, `climbed: ${commit.groupsAtOnce()}`);
    // A quiet spell of redeliveries, one group at a time (as after a restart): all duplicates.
    duplicates = true;
    for (let i = 0; i < 20; i++) await commit.add(10_000 + i);
    duplicates = false;
    most = 0;
    await backlog(20_000);
    controller.abort();
    // Had they counted as handlers of no time, the base would be near 0 and every group at once
    // would look queued: the limit would fall to four and stay there.
    assert.ok(commit.groupsAtOnce() >= 12, `still up: ${commit.groupsAtOnce()}`);
    assert.ok(most >= 12, `groups at once in the second backlog: ${most}`);
  });
});
