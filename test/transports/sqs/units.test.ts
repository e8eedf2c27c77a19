import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHeraldError } from '../../../src/index.ts';
import { toHeraldError } from '../../../src/transports/sqs/errors.ts';
import { sqs } from '../../../src/transports/sqs/index.ts';
import {
  deduplicationId,
  defaultQueueName,
  messageGroupId,
  partitionOf,
  queueName,
} from '../../../src/transports/sqs/names.ts';
import { sqsSettings } from '../../../src/transports/sqs/options.ts';
import { headersOf, keyOf, packBatches, toWire } from '../../../src/transports/sqs/wire.ts';
import type { OutgoingMessage } from '../../../src/transports/transport.ts';
import { decodeMessage } from '../../../src/wire/incoming.ts';

const base = { endpoint: 'http://127.0.0.1:9324', region: 'elasticmq' };

function relayMessage(headers: Record<string, string> = {}, key = 'order-1'): OutgoingMessage {
  return {
    id: '0197a0b2-7c1d-7e3f-8a4b-5c6d7e8f9a0b',
    topic: 'shop.order.placed',
    key,
    value: Buffer.from('{"total":42,"items":["a"]}'),
    headers: {
      ce_specversion: '1.0',
      ce_id: '0197a0b2-7c1d-7e3f-8a4b-5c6d7e8f9a0b',
      ce_source: 'shop',
      ce_type: 'shop.order.placed',
      ce_time: '2025-06-01T12:00:00.000Z',
      'content-type': 'application/json',
      ce_dataversion: '2',
      ce_partitionkey: key,
      ce_traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      ...headers,
    },
  };
}

/** What a subscription hands the consumer for a message sent as `toWire` encodes it. */
function delivered(m: OutgoingMessage) {
  const wire = toWire(m);
  const attributes = Object.fromEntries(Object.entries(wire.attributes).map(([k, v]) => [k, { StringValue: v }]));
  return {
    topic: m.topic,
    partition: partitionOf(messageGroupId(m.key)),
    offset: '1',
    key: keyOf(messageGroupId(m.key), wire.body),
    value: Buffer.from(wire.body),
    headers: headersOf(attributes),
  };
}

describe('sqs options: a clear error naming the setting', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['endpoint', { endpoint: 'localhost:9324' }],
    ['endpoint', { endpoint: 'ftp://x' }],
    ['endpoint', { endpoint: 'http://user:secret@127.0.0.1:9324' }],
    ['region', { region: 'not a region' }],
    ['groups', { groups: 'billing' }],
    ['groups', { groups: ['has space'] }],
    ['queueFor', { queueFor: 'q.fifo' }],
    ['autoCreateQueues', { autoCreateQueues: 'yes' }],
    ['queueAttributes', { queueAttributes: { VisibilityTimeout: 30 } }],
    ['waitTimeSeconds', { waitTimeSeconds: 21 }],
    ['waitTimeSeconds', { waitTimeSeconds: 1.5 }],
    ['visibilityTimeoutSeconds', { visibilityTimeoutSeconds: 1 }],
    ['timeoutMs', { timeoutMs: 10 }],
    ['maxMessageBytes', { maxMessageBytes: 2_000_000 }],
    ['credentials', { credentials: { accessKeyId: 'AKIA' } }],
  ];
  for (const [setting, bad] of cases) {
    it(`rejects a bad ${setting}: ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => sqs({ ...base, ...bad } as never),
        (e: unknown) =>
          isHeraldError(e, 'HERALD_INVALID_CONFIG') &&
          e.details.setting === setting &&
          e.message.startsWith(`${setting}: `),
      );
    });
  }

  it('never echoes credentials in an error', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    for (const bad of [
      { credentials: { accessKeyId: '', secretAccessKey: secret } },
      { endpoint: `http://AKIA:${secret}@127.0.0.1:9324` },
    ]) {
      assert.throws(
        () => sqs({ ...base, ...bad }),
        (e: unknown) =>
          isHeraldError(e, 'HERALD_INVALID_CONFIG') && !JSON.stringify([e.message, e.details]).includes(secret),
      );
    }
  });

  it('needs a region without an endpoint; describe() names the endpoint only', () => {
    const saved = [process.env.AWS_REGION, process.env.AWS_DEFAULT_REGION];
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    try {
      assert.throws(
        () => sqs({}),
        (e: unknown) => isHeraldError(e, 'HERALD_INVALID_CONFIG'),
      );
      assert.equal(sqs({ region: 'eu-west-1' }).describe(), 'sqs.eu-west-1.amazonaws.com');
      const t = sqs({ ...base, credentials: { accessKeyId: 'AKIA', secretAccessKey: 'secret' } });
      assert.equal(t.describe(), 'http://127.0.0.1:9324');
      assert.equal(t.name, 'sqs');
    } finally {
      if (saved[0] !== undefined) process.env.AWS_REGION = saved[0];
      if (saved[1] !== undefined) process.env.AWS_DEFAULT_REGION = saved[1];
    }
  });

  it('fills in the defaults', () => {
    const s = sqsSettings(base);
    assert.equal(s.waitTimeSeconds, 20);
    assert.equal(s.visibilityTimeoutSeconds, 30);
    assert.equal(s.timeoutMs, 10_000);
    assert.equal(s.maxMessageBytes, 1_048_576);
    assert.equal(s.autoCreateQueues, true);
    assert.deepEqual(s.queueAttributes, { MessageRetentionPeriod: '1209600' });
    assert.deepEqual(s.groupsOf('x'), []);
    assert.deepEqual(sqsSettings({ ...base, groups: ['a', 'b', 'a'] }).groupsOf('x'), ['a', 'b']);
    const byFunction = sqsSettings({ ...base, groups: (d) => (d === 'x' ? ['bad name'] : []) });
    assert.throws(
      () => byFunction.groupsOf('x'),
      (e: unknown) => isHeraldError(e, 'HERALD_INVALID_CONFIG'),
    );
  });
});

describe('sqs names', () => {
  it('names a FIFO queue per destination and group, in SQS characters', () => {
    assert.equal(defaultQueueName('shop.order.placed', 'billing'), 'shop_order_placed-billing.fifo');
    assert.equal(defaultQueueName('shop.order.placed.dlq', null), 'shop_order_placed_dlq.fifo');
    assert.equal(defaultQueueName('a', 'g.eu-1'), 'a-g_eu-1.fifo');
  });

  it('cuts a long name to 80 characters, unique by a hash of the whole', () => {
    const a = defaultQueueName('d'.repeat(200), 'group-a');
    const b = defaultQueueName('d'.repeat(200), 'group-b');
    assert.equal(a.length, 80);
    assert.match(a, /^d{66}-[0-9a-f]{8}\.fifo$/);
    assert.notEqual(a, b);
    assert.equal(defaultQueueName('d'.repeat(200), 'group-a'), a);
    assert.equal(defaultQueueName('d'.repeat(75), null).length, 80);
  });

  it('checks the names queueFor gives', () => {
    assert.equal(
      queueName((d, g) => `${d}_${g}.fifo`, 'orders', 'billing'),
      'orders_billing.fifo',
    );
    for (const bad of ['orders', 'orders.billing.fifo', `${'x'.repeat(76)}.fifo`, '']) {
      assert.throws(
        () => queueName(() => bad, 'orders', 'billing'),
        (e: unknown) => isHeraldError(e, 'HERALD_INVALID_DESTINATION') && !e.retriable,
      );
    }
  });

  it('uses the partition key as message group id, hashed when SQS would refuse it', () => {
    assert.equal(messageGroupId('order-1'), 'order-1');
    assert.equal(messageGroupId('a/b:c#d'), 'a/b:c#d');
    for (const key of ['has space', 'é', '', 'k'.repeat(129), '#h:looks-hashed']) {
      const id = messageGroupId(key);
      assert.match(id, /^#h:[A-Za-z0-9_-]{43}$/, key);
      assert.equal(messageGroupId(key), id);
    }
    assert.notEqual(messageGroupId('a b'), messageGroupId('a  b'));
  });

  it('uses the event id as de-duplication id', () => {
    assert.equal(deduplicationId('0197a0b2-7c1d-7e3f-8a4b-5c6d7e8f9a0b'), '0197a0b2-7c1d-7e3f-8a4b-5c6d7e8f9a0b');
    assert.match(deduplicationId('topic/3/12 with space'), /^[0-9a-f]{64}$/);
  });

  it('gives each message group a stable partition', () => {
    assert.equal(partitionOf('order-1'), partitionOf('order-1'));
    assert.notEqual(partitionOf('order-1'), partitionOf('order-2'));
    const seen = new Set(Array.from({ length: 1000 }, (_, i) => partitionOf(`k${i}`)));
    assert.equal(seen.size, 1000);
    for (const p of seen) assert.ok(Number.isInteger(p) && p >= 0 && p <= 0x7fffffff);
  });
});

describe('sqs wire: structured CloudEvents', () => {
  it('puts the attributes and data in the body, content-type and user headers in message attributes', () => {
    const wire = toWire(relayMessage({ tenant: 'acme' }));
    assert.deepEqual(wire.attributes, { 'content-type': 'application/cloudevents+json', tenant: 'acme' });
    const envelope = JSON.parse(wire.body);
    assert.deepEqual(Object.keys(envelope).slice(0, 4), ['specversion', 'id', 'source', 'type']);
    assert.deepEqual(envelope, {
      specversion: '1.0',
      id: '0197a0b2-7c1d-7e3f-8a4b-5c6d7e8f9a0b',
      source: 'shop',
      type: 'shop.order.placed',
      time: '2025-06-01T12:00:00.000Z',
      dataversion: '2',
      partitionkey: 'order-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      datacontenttype: 'application/json',
      data: { total: 42, items: ['a'] },
    });
    const attributeBytes = Object.entries(wire.attributes).reduce((n, [k, v]) => n + k.length + 6 + v.length, 0);
    assert.equal(wire.bytes, Buffer.byteLength(wire.body) + attributeBytes);
  });

  it('is read back by the consumer decoder', () => {
    const event = decodeMessage(delivered(relayMessage({ tenant: 'acme', 'x-Request.id': 'r-1' })));
    assert.equal(event.id, '0197a0b2-7c1d-7e3f-8a4b-5c6d7e8f9a0b');
    assert.equal(event.type, 'shop.order.placed');
    assert.equal(event.version, 2);
    assert.equal(event.key, 'order-1');
    assert.equal(event.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.deepEqual(event.headers, { tenant: 'acme', 'x-Request.id': 'r-1' });
    assert.deepEqual(event.payload, { total: 42, items: ['a'] });
  });

  it('sends headers that do not fit in 10 attributes as JSON in herald-headers', () => {
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`h${i}`, `v${i}`]));
    const odd = { 'ends.': 'dot', 'AWS.thing': 'reserved', 'herald-headers': 'mine', blank: '' };
    const wire = toWire(relayMessage({ ...many, ...odd }));
    assert.equal(Object.keys(wire.attributes).length, 10);
    assert.equal(wire.attributes['content-type'], 'application/cloudevents+json');
    assert.ok('herald-headers' in wire.attributes);
    const event = decodeMessage(delivered(relayMessage({ ...many, ...odd })));
    assert.deepEqual(event.headers, { ...many, ...odd });
    // Nine headers fit as they are.
    const nine = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`h${i}`, `v${i}`]));
    assert.deepEqual(toWire(relayMessage(nine)).attributes, {
      'content-type': 'application/cloudevents+json',
      ...nine,
    });
  });

  it('sends an envelope as it is (a dead letter of a message consumed from SQS), headers updated', () => {
    const first = delivered(relayMessage({ tenant: 'acme' }));
    const again = toWire({
      id: 'e',
      topic: 'shop.order.placed.dlq',
      key: 'order-1',
      value: first.value,
      headers: { ...first.headers, herald_error_code: 'HERALD_HANDLER_FAILED', herald_attempts: '5' },
    });
    assert.equal(again.body, first.value.toString());
    assert.equal(again.attributes.herald_error_code, 'HERALD_HANDLER_FAILED');
  });

  it('escapes characters SQS refuses, and carries a non-JSON payload as data_base64', () => {
    const m = relayMessage({ note: 'a\uFFFEb' });
    m.value = Buffer.from('{"s":"x\uFFFFy"}');
    const wire = toWire(m);
    assert.ok(!/[\uFFFE\uFFFF]/.test(wire.body + JSON.stringify(wire.attributes)));
    assert.equal(JSON.parse(wire.body).data.s, 'x\uFFFFy');
    assert.equal(decodeMessage(delivered(m)).headers.note, 'a\uFFFEb');
    const binary = relayMessage({ 'content-type': 'application/octet-stream' });
    binary.value = Buffer.from([0, 1, 2, 255]);
    assert.equal(JSON.parse(toWire(binary).body).data_base64, 'AAEC/w==');
  });

  it('gives the original partition key of a hashed message group', () => {
    const m = relayMessage({}, 'customer 42 / é');
    assert.equal(delivered(m).key, 'customer 42 / é');
    assert.equal(keyOf('order-1', 'not json'), 'order-1');
    assert.equal(keyOf(undefined, '{}'), null);
  });
});

describe('sqs batches', () => {
  const msg = (groupId: string, n: number, bytes = 100) => ({
    groupId,
    n,
    wire: { body: '', attributes: {}, bytes },
  });

  it('keeps order, one message per group per batch, at most 10 entries', () => {
    const input = Array.from({ length: 50 }, (_, i) => msg(`k${i % 10}`, i));
    const batches = packBatches(input, 10, 1_000_000);
    assert.equal(batches.length, 5);
    for (const b of batches) {
      assert.ok(b.length <= 10);
      assert.equal(new Set(b.map((m) => m.groupId)).size, b.length);
    }
    const order = new Map<string, number[]>();
    for (const b of batches) for (const m of b) order.set(m.groupId, [...(order.get(m.groupId) ?? []), m.n]);
    for (const list of order.values())
      assert.deepEqual(
        list,
        [...list].sort((a, b) => a - b),
      );
    // One hot key: a message per call.
    assert.equal(
      packBatches(
        Array.from({ length: 10 }, (_, i) => msg('a', i)),
        10,
        1_000_000,
      ).length,
      10,
    );
    // Other groups fill the gaps a hot key leaves.
    const mixed = packBatches([msg('a', 0), msg('a', 1), msg('b', 2), msg('b', 3)], 10, 1_000_000);
    assert.deepEqual(
      mixed.map((b) => b.map((m) => m.n)),
      [
        [0, 2],
        [1, 3],
      ],
    );
  });

  it('keeps a batch under the byte limit', () => {
    const batches = packBatches(
      Array.from({ length: 6 }, (_, i) => msg(`k${i}`, i, 400_000)),
      10,
      1_048_576,
    );
    assert.deepEqual(
      batches.map((b) => b.length),
      [2, 2, 2],
    );
  });
});

describe('sqs errors', () => {
  const sdkError = (name: string, message: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 }, ...extra });

  it('maps what SQS and the network say to a HeraldError that says whether to retry', () => {
    const cases: [unknown, string, boolean][] = [
      [sdkError('InvalidAttributeValue', 'MessageTooLong'), 'HERALD_MESSAGE_TOO_LARGE', false],
      [
        sdkError('BatchRequestTooLong', 'Batch requests cannot be longer than 1048576 bytes'),
        'HERALD_MESSAGE_TOO_LARGE',
        false,
      ],
      [sdkError('InvalidMessageContents', 'Invalid characters found'), 'HERALD_PUBLISH_FAILED', false],
      [sdkError('QueueDoesNotExist', 'The specified queue does not exist.'), 'HERALD_INVALID_DESTINATION', false],
      [
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9324'), { code: 'ECONNREFUSED' }),
        'HERALD_BROKER_UNAVAILABLE',
        true,
      ],
      [
        new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]),
        'HERALD_BROKER_UNAVAILABLE',
        true,
      ],
      [sdkError('TimeoutError', 'socket hang up'), 'HERALD_BROKER_UNAVAILABLE', true],
      [
        sdkError('InvalidClientTokenId', 'The security token included in the request is invalid.'),
        'HERALD_BROKER_UNAVAILABLE',
        true,
      ],
      [
        sdkError('CredentialsProviderError', 'Could not load credentials from any providers'),
        'HERALD_BROKER_UNAVAILABLE',
        true,
      ],
      [sdkError('RequestThrottled', 'slow down'), 'HERALD_BROKER_UNAVAILABLE', true],
      [
        sdkError('Weird', 'oops', { $fault: 'server', $metadata: { httpStatusCode: 503 } }),
        'HERALD_BROKER_UNAVAILABLE',
        true,
      ],
      [sdkError('SomethingNew', 'who knows'), 'HERALD_PUBLISH_FAILED', true],
    ];
    for (const [error, code, retriable] of cases) {
      const e = toHeraldError(error, 'http://127.0.0.1:9324');
      assert.equal(e.code, code, String((error as Error).message));
      assert.equal(e.retriable, retriable, code);
    }
  });
});
