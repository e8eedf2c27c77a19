import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessStatus, defaultThresholds } from '../../src/status/status.ts';

describe('assessStatus', () => {
  const quiet = {
    backlog: {
      events: 0,
      heldBack: 0,
      shardsWithBacklog: 0,
      oldestAgeSeconds: null,
      heldBackOldestAgeSeconds: null,
      snapshotXmin: '900',
      shards: [],
    },
    deadLetters: { pending: 0, oldestAgeSeconds: null, top: [] },
    openTransaction: null,
  };

  it('is quiet when nothing exceeds a threshold, limits included', () => {
    assert.deepEqual(assessStatus(quiet), []);
    const atLimits = {
      ...quiet,
      backlog: { ...quiet.backlog, events: 3, shardsWithBacklog: 1, oldestAgeSeconds: 60 },
    };
    assert.deepEqual(assessStatus(atLimits, defaultThresholds), []);
  });

  it("judges consumer groups only when given: lag against maxConsumerLag, dead letters with the relay's", () => {
    const group = (name: string, lag: number | null, pending: number) => ({
      group: name,
      lag,
      measuredAt: null,
      measuredAgeSeconds: lag === null ? null : 2,
      partitions: [],
      deadLetters: { pending, retrying: 0, oldestAgeSeconds: null },
    });
    const consumers = [group('a', 50, 0), group('b', 5000, 0), group('c', null, 0)];
    assert.deepEqual(assessStatus({ ...quiet, consumers }), [], 'no maxConsumerLag: not judged');
    assert.deepEqual(assessStatus({ ...quiet, consumers }, { maxConsumerLag: 50 }), [
      'consumer group b is 5,000 messages behind (measured 2.0 s ago)',
    ]);
    const letters = [group('a', 0, 1), group('b', 0, 0)];
    assert.deepEqual(assessStatus({ ...quiet, consumers: letters }), ['1 dead letter pending (group a 1)']);
    assert.deepEqual(assessStatus({ ...quiet, consumers: letters }, { maxDeadLetters: 1 }), []);
  });

  it('explains events held back by a transaction no session shows', () => {
    const hidden = {
      ...quiet,
      backlog: { ...quiet.backlog, events: 5000, heldBack: 5000, oldestAgeSeconds: 30, heldBackOldestAgeSeconds: 30 },
    };
    assert.deepEqual(assessStatus(hidden), [
      '5,000 events held back by transaction xid 900, which pg_stat_activity does not show (a prepared transaction, or this role lacks pg_read_all_stats)',
    ]);
  });
});
