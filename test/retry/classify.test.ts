import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLockConflict } from '../../src/retry/classify.ts';

// Lock conflicts are read anywhere along an error's causes (a HeraldError wrapping pg's error),
// never in an AggregateError's siblings, and nothing else is one.
describe('isLockConflict', () => {
  const pg = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
  it('knows a deadlock, a serialization failure and a lock timeout, at any depth of causes', () => {
    for (const code of ['40P01', '40001', '55P03']) {
      assert.equal(isLockConflict(pg(code)), true, code);
      assert.equal(isLockConflict(new Error('wrapped', { cause: new Error('again', { cause: pg(code) }) })), true);
    }
  });
  it('is false for other states, for non-errors and for an aggregate of conflicts', () => {
    assert.equal(isLockConflict(pg('23505')), false);
    assert.equal(isLockConflict(pg('57P01')), false);
    assert.equal(isLockConflict(undefined), false);
    assert.equal(isLockConflict('40P01'), false);
    assert.equal(isLockConflict(new AggregateError([pg('40P01')])), false);
  });
});
