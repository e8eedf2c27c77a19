import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { comparePositions } from '../../src/store/sql/read-batch.ts';

describe('comparePositions', () => {
  it('orders by xid, then seq, as numbers (not as text), beyond 2^53', () => {
    const p = (xid: string, seq: string) => ({ xid, seq });
    assert.equal(comparePositions(p('999', '5'), p('1000', '1')), -1);
    assert.equal(comparePositions(p('1000', '1'), p('999', '5')), 1);
    assert.equal(comparePositions(p('7', '10'), p('7', '9')), 1);
    assert.equal(comparePositions(p('7', '9'), p('7', '10')), -1);
    assert.equal(comparePositions(p('7', '9'), p('7', '9')), 0);
    assert.equal(comparePositions(p('0', '0'), p('1', '0')), -1);
    assert.equal(comparePositions(p('9007199254740993', '1'), p('9007199254740992', '1')), 1);
    assert.equal(comparePositions(p('18446744073709551615', '2'), p('18446744073709551615', '1')), 1);
  });
});
