import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { defineEvent, HeraldError, uuidv7 } from '../../src/index.ts';
import { backoffDelay } from '../../src/retry/backoff.ts';
import { toBinaryHeaders } from '../../src/wire/cloudevents.ts';

const Payload = z.object({ orderId: z.string(), quantity: z.number().int().positive() });
const OrderCreated = defineEvent({ type: 'order.created', version: 1, schema: Payload, key: (p) => p.orderId });

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof HeraldError ? error.code : `not a HeraldError: ${String(error)}`;
  }
  return undefined;
}

describe('defineEvent', () => {
  it('makes events with a UUIDv7 id, the type and version, and the options as given', () => {
    const e = OrderCreated({ orderId: 'o-1', quantity: 2 }, { correlationId: 'c-1' });
    assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(e.type, 'order.created');
    assert.equal(e.version, 1);
    assert.equal(e.options.correlationId, 'c-1');
  });

  it('rejects invalid definitions with HERALD_INVALID_DEFINITION', () => {
    const base = { type: 'a.b', version: 1, schema: Payload, key: (p: { orderId: string }) => p.orderId };
    assert.equal(
      code(() => defineEvent({ ...base, type: 'has space' })),
      'HERALD_INVALID_DEFINITION',
    );
    assert.equal(
      code(() => defineEvent({ ...base, version: 0 })),
      'HERALD_INVALID_DEFINITION',
    );
    assert.equal(
      code(() => defineEvent({ ...base, version: 1.5 })),
      'HERALD_INVALID_DEFINITION',
    );
    assert.equal(
      code(() => defineEvent({ ...base, schema: {} as typeof Payload })),
      'HERALD_INVALID_DEFINITION',
    );
    assert.equal(
      code(() => defineEvent({ ...base, destination: 'bad/topic' })),
      'HERALD_INVALID_DESTINATION',
    );
    assert.equal(
      code(() => defineEvent({ ...base, destination: 'orders.v1' })),
      undefined,
    );
  });

  it('validates payloads with every issue and its path', async () => {
    const error = await OrderCreated.parse({ orderId: 7, quantity: -1 }).catch((e: unknown) => e);
    assert.ok(error instanceof HeraldError);
    assert.equal(error.code, 'HERALD_INVALID_PAYLOAD');
    const issues = error.details.issues as { path: string }[];
    assert.deepEqual(issues.map((i) => i.path).sort(), ['orderId', 'quantity']);
    assert.deepEqual(await OrderCreated.parse({ orderId: 'o', quantity: 1 }), { orderId: 'o', quantity: 1 });
  });

  it('rejects malformed headers, ids and trace context with HERALD_INVALID_HEADER', () => {
    const p = { orderId: 'o-1', quantity: 1 };
    assert.equal(
      code(() => OrderCreated(p, { traceparent: 'not-a-traceparent' })),
      'HERALD_INVALID_HEADER',
    );
    assert.equal(
      code(() => OrderCreated(p, { id: 'not-a-uuid' })),
      'HERALD_INVALID_HEADER',
    );
    assert.equal(
      code(() => OrderCreated(p, { headers: { ce_type: 'spoof' } })),
      'HERALD_INVALID_HEADER',
    );
    assert.equal(
      code(() => OrderCreated(p, { headers: { 'bad name': 'x' } })),
      'HERALD_INVALID_HEADER',
    );
    assert.equal(
      code(() => OrderCreated(p, { headers: { ok: 'line\nbreak' } })),
      'HERALD_INVALID_HEADER',
    );
    assert.equal(
      code(() => OrderCreated(p, { correlationId: '' })),
      'HERALD_INVALID_HEADER',
    );
    assert.equal(
      code(() => OrderCreated(p, { destination: 'no spaces allowed' })),
      'HERALD_INVALID_DESTINATION',
    );
    assert.equal(
      code(() => OrderCreated(p, { headers: { tenant: 'acme' } })),
      undefined,
    );
    // Tags travel comma-separated: a tag with a comma, an empty one or too many are refused.
    assert.equal(
      code(() => OrderCreated(p, { tags: ['vip,gold'] })),
      'HERALD_INVALID_HEADER',
    );
    assert.equal(
      code(() => OrderCreated(p, { tags: [''] })),
      'HERALD_INVALID_HEADER',
    );
    assert.equal(
      code(() => OrderCreated(p, { tags: Array.from({ length: 65 }, (_, i) => `t${i}`) })),
      'HERALD_INVALID_HEADER',
    );
    assert.equal(
      code(() => OrderCreated(p, { userId: 'line\nbreak' })),
      'HERALD_INVALID_HEADER',
    );
    assert.equal(
      code(() => OrderCreated(p, { userId: 'u-1', sessionId: 's-1', tags: ['vip', 'eu'] })),
      undefined,
    );
  });
});

describe('uuidv7', () => {
  it('is ordered within one millisecond and across milliseconds', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_700_000_000_000));
    const later = uuidv7(1_700_000_000_001);
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(later > (ids[ids.length - 1] as string));
  });

  it('has fresh random bits in every id, across refills of its random pool', () => {
    const ids = Array.from({ length: 2000 }, () => uuidv7());
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // 62 random bits each: 2,000 ids (the pool holds 256) share no random tail.
    assert.equal(new Set(ids.map((id) => id.slice(19))).size, ids.length);
  });
});

describe('CloudEvents binary headers', () => {
  it('maps attributes and extensions with the ce_ prefix and keeps user headers', () => {
    const time = new Date('2026-01-02T03:04:05.678Z');
    const headers = toBinaryHeaders(
      {
        id: 'id-1',
        type: 't',
        source: '/s',
        time,
        subject: null,
        dataversion: 2,
        partitionkey: 'k',
        correlationid: 'c',
        causationid: null,
        traceparent: null,
        tracestate: null,
      },
      { tenant: 'acme' },
    );
    assert.deepEqual(headers, {
      tenant: 'acme',
      ce_specversion: '1.0',
      ce_id: 'id-1',
      ce_source: '/s',
      ce_type: 't',
      ce_time: '2026-01-02T03:04:05.678Z',
      'content-type': 'application/json',
      ce_dataversion: '2',
      ce_partitionkey: 'k',
      ce_correlationid: 'c',
    });
  });
});

describe('backoff', () => {
  it('grows exponentially, is capped, and never drops below half the step', () => {
    const opts = { initialMs: 100, maxMs: 2000 };
    assert.equal(
      backoffDelay(0, opts, () => 0),
      50,
    );
    assert.equal(
      backoffDelay(0, opts, () => 1),
      100,
    );
    assert.equal(
      backoffDelay(3, opts, () => 0),
      400,
    );
    assert.equal(
      backoffDelay(30, opts, () => 1),
      2000,
    );
    assert.equal(
      backoffDelay(30, opts, () => 0),
      1000,
    );
  });
});
