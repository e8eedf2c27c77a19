import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeWalEvent, encodeWalEvent } from '../../src/wire/wal-event.ts';

const time = '2026-12-05T12:00:00.000Z';
const bytes = (text: string) => new TextEncoder().encode(text);

describe("the table-less outbox's WAL message", () => {
  it('leaves out null fields, and reads them back as null', () => {
    const text = encodeWalEvent(
      { v: 1, id: 'e-1', type: 'order.placed', version: 2, source: '/s', partitionKey: 'k', headers: {}, time },
      '{"n":1}',
    );
    assert.doesNotMatch(text, /null/);
    const e = decodeWalEvent(bytes(text));
    assert.equal(e.subject, null);
    assert.equal(e.destination, null);
    assert.deepEqual(e.headers, {});
    assert.equal(e.correlation_id, null);
    assert.equal(e.causation_id, null);
    assert.equal(e.traceparent, null);
    assert.equal(e.tracestate, null);
    assert.equal(e.tags, null);
    assert.equal(e.payload, '{"n":1}');
    assert.equal(e.created_at.toISOString(), time);
  });

  it('reads messages of earlier writers, which wrote every field with its nulls', () => {
    const earlier = `{"v":1,"id":"e-2","type":"t","version":1,"source":"/s","subject":null,"partitionKey":"k","destination":"orders","headers":{"tenant":"a"},"correlationId":"c","causationId":null,"traceparent":null,"tracestate":null,"time":"${time}","payload":{"n":2}}`;
    const e = decodeWalEvent(bytes(earlier));
    assert.equal(e.destination, 'orders');
    assert.deepEqual(e.headers, { tenant: 'a' });
    assert.equal(e.correlation_id, 'c');
    assert.equal(e.subject, null);
    assert.equal(e.user_id, null);
  });

  it("hands back the payload's text as written, not parsed and written again", () => {
    // Digits past a double's precision, a nested member named payload, a header named payload,
    // characters of several bytes before and inside the payload.
    const payload =
      '{"amount":12345678901234567890,"price":0.10000000000000000001,"inner":{"a":1,"payload":"}]\\"x"},"list":[1,{"payload":2}],"name":"Zoë 🚀"}';
    const text = encodeWalEvent(
      {
        v: 1,
        id: 'e-3',
        type: 't',
        version: 1,
        source: '/s',
        partitionKey: 'clé-ü',
        headers: { payload: 'h,"payload":{', city: 'Zürich' },
        time,
      },
      payload,
    );
    const e = decodeWalEvent(bytes(text));
    assert.equal(e.payload, payload);
    assert.deepEqual(e.headers, { payload: 'h,"payload":{', city: 'Zürich' });
    assert.equal(e.partition_key, 'clé-ü');
    assert.equal(e.id, 'e-3');
  });

  it('refuses what is not an event', () => {
    for (const bad of [
      'not json',
      `{"v":1,"id":"e-5","type":"t","payload":`,
      `{"v":1,"id":"e-5","type":"t","time":"${time}","payload":}`,
      '{"v":2,"id":"e-5","type":"t","payload":1}',
      '{"v":1,"id":"e-5","type":"t"}',
    ]) {
      assert.throws(() => decodeWalEvent(bytes(bad)), `accepted ${bad}`);
    }
  });
});
