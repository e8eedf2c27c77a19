import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHeraldError } from '../../src/errors.ts';
import { decodeMessage } from '../../src/wire/incoming.ts';
import type { IncomingMessage } from '../../src/wire/message.ts';

const message = (headers: Record<string, string>, value = '{"n":1}'): IncomingMessage => ({
  topic: 't',
  partition: 0,
  offset: '7',
  key: 'k',
  value: Buffer.from(value),
  headers: {
    ce_specversion: '1.0',
    ce_id: 'e-1',
    ce_source: '/test',
    ce_type: 'thing.done',
    'content-type': 'application/json',
    ...headers,
  },
});

const malformed = (pattern: RegExp) => (e: unknown) =>
  isHeraldError(e, 'HERALD_MALFORMED_MESSAGE') && pattern.test(e.message);

// Found by test/consume/decode-fuzz.test.ts ("wrong versions").
describe('decodeMessage: the version is digits, nothing else', () => {
  it('reads 1, 2 and 12', () => {
    for (const v of ['1', '2', '12']) assert.equal(decodeMessage(message({ ce_dataversion: v })).version, Number(v));
    assert.equal(decodeMessage(message({})).version, 1, 'none is version 1');
  });

  it('refuses what Number() would have taken for a version: hex, spaces, decimals, exponents, signs', () => {
    for (const v of ['0x2', ' 2', '2 ', '2.0', '2e0', '+2', '02', '0', '-1', '1.5', 'abc', '1e400', '9999999999']) {
      assert.throws(
        () => decodeMessage(message({ ce_dataversion: v })),
        malformed(/dataversion .* is not a positive integer/),
        JSON.stringify(v),
      );
    }
  });

  it('says an attribute of structured mode that is not a string is not a string (not that it is empty)', () => {
    const doc = { specversion: '1.0', id: 42, source: '/test', type: 'thing.done', data: { n: 1 } };
    assert.throws(
      () => decodeMessage(message({ 'content-type': 'application/cloudevents+json' }, JSON.stringify(doc))),
      malformed(/"id" is a number, not a string/),
    );
  });
});
