import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retry } from '../../src/retry/retry.ts';

// The one retry loop: what counts against `attempts`, and what does not.
describe('retry', () => {
  const fast = { initialMs: 1, maxMs: 2 };
  const conflict = () => Object.assign(new Error('deadlock detected'), { code: '40P01' });
  const isConflict = (e: unknown) => (e as { code?: string }).code === '40P01';

  it('gives up after the allowed attempts, with their count', async () => {
    let calls = 0;
    const outcome = await retry(
      async () => {
        calls++;
        throw new Error('no');
      },
      { attempts: 3, backoff: fast },
    );
    assert.equal(calls, 3);
    assert.ok(!outcome.ok && !outcome.stopped && outcome.failures === 3);
  });

  it('does not count what `uncounted` says: eight conflicts, then a success, with one attempt allowed', async () => {
    const seen: number[] = [];
    const outcome = await retry(
      async (n) => {
        seen.push(n);
        if (n <= 8) throw conflict();
        return 'done';
      },
      { attempts: 1, backoff: fast, uncounted: isConflict },
    );
    assert.deepEqual(outcome, { ok: true, value: 'done' });
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9], 'the attempt number still counts every try');
  });

  it('still counts the other failures, and gives up on them', async () => {
    let calls = 0;
    const outcome = await retry(
      async () => {
        calls++;
        throw calls % 2 === 1 ? conflict() : new Error('handler bug');
      },
      { attempts: 2, backoff: fast, uncounted: isConflict },
    );
    assert.equal(calls, 4, 'conflict, bug, conflict, bug: the second bug gives up');
    assert.ok(!outcome.ok && !outcome.stopped && outcome.failures === 2);
    assert.equal((outcome as { error: Error }).error.message, 'handler bug');
  });

  it('gives up on a permanent failure at once even when `uncounted` would take it', async () => {
    let calls = 0;
    const outcome = await retry(
      async () => {
        calls++;
        throw Object.assign(new Error('bad value'), { code: '22P02' });
      },
      { attempts: 5, backoff: fast, uncounted: () => true },
    );
    assert.equal(calls, 1);
    assert.ok(!outcome.ok && !outcome.stopped);
  });
});
