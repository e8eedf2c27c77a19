import assert from 'node:assert/strict';
import { HeraldError } from '../../src/errors.ts';

/** The HeraldError `fn` throws (the test fails if it throws nothing, or something else). */
export function thrown(fn: () => unknown): HeraldError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof HeraldError, String(error));
    return error;
  }
  assert.fail('expected a HeraldError');
}
