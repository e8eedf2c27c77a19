import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Producer } from '@platformatic/kafka';
import { z } from 'zod';
import { createConsumer, createConsumerDeadLetters, defineEvent } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { eventMessage } from '../support/consumer.ts';
import { brokers, freshSchema, type TestSchema, uniqueName } from '../support/env.ts';
import { createTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

describe('consumers: malformed messages and versions', () => {
  let db: TestSchema;
  const transport = kafka({ brokers });
  before(async () => {
    db = await freshSchema();
  });
  after(async () => {
    await transport.close();
    await db.drop();
  });

  it('dead-letters what it cannot read with the reason, upcasts old versions, and never crashes', async () => {
    const topic = await createTopic(1);
    // Version 2 added `currency`; version 1 events are upcast to it.
    const Charged = defineEvent({
      type: 'payment.charged',
      version: 2,
      destination: topic,
      schema: z.object({ orderId: z.string(), amount: z.number().positive(), currency: z.string().length(3) }),
      key: (p) => p.orderId,
      upcasters: { 1: (v1: { orderId: string; amount: number }) => ({ ...v1, currency: 'EUR' }) },
    });
    const good = eventMessage(topic, Charged.type, { orderId: 'o-1', amount: 5, currency: 'USD' }, { version: 2 });
    const old = eventMessage(topic, Charged.type, { orderId: 'o-2', amount: 7 }, { version: 1 });
    const newer = eventMessage(topic, Charged.type, { orderId: 'o-3', amount: 1, currency: 'USD' }, { version: 3 });
    const invalid = eventMessage(topic, Charged.type, { orderId: 'o-4', amount: -1, currency: 'USD' }, { version: 2 });
    const unknown = eventMessage(topic, 'payment.refunded', { orderId: 'o-5' });
    const notJson = {
      ...eventMessage(topic, Charged.type, {}, { version: 2 }),
      value: Buffer.from('{"orderId": "o-6"'),
    };
    const plain = { id: 'plain', topic, key: 'o-7', value: Buffer.from('{"orderId":"o-7"}'), headers: {} };
    const last = eventMessage(topic, Charged.type, { orderId: 'o-8', amount: 3, currency: 'GBP' }, { version: 2 });
    await transport.publish([good, old, newer, invalid, unknown, notJson, plain, last]);

    const group = uniqueName('g');
    const seen: { orderId: string; currency: string; version: number; writtenVersion: number }[] = [];
    const consumer = createConsumer({
      transport,
      group,
      db: db.pool,
      schema: db.schema,
      onUnknownType: 'dead-letter',
      deadLetterTopic: false,
    });
    consumer.on(Charged, (event) => {
      seen.push({
        orderId: event.payload.orderId,
        currency: event.payload.currency,
        version: event.version,
        writtenVersion: event.writtenVersion,
      });
    });
    await consumer.start();
    try {
      await waitFor('every message', () => consumer.stats().handled + consumer.stats().deadLettered === 8, 30_000);
    } finally {
      await consumer.stop();
    }
    assert.deepEqual(seen, [
      { orderId: 'o-1', currency: 'USD', version: 2, writtenVersion: 2 },
      { orderId: 'o-2', currency: 'EUR', version: 2, writtenVersion: 1 },
      { orderId: 'o-8', currency: 'GBP', version: 2, writtenVersion: 2 },
    ]);
    const letters = createConsumerDeadLetters({ db: db.pool, schema: db.schema });
    const dead = await letters.list({ groups: [group] });
    await letters.close();
    const reason = new Map(dead.map((d) => [d.id, d.error]));
    assert.equal(dead.length, 5);
    assert.equal(reason.get(newer.id)?.code, 'HERALD_NO_UPCAST_PATH');
    assert.match(reason.get(newer.id)?.message ?? '', /v3 is newer than the handler's v2/);
    assert.equal(reason.get(invalid.id)?.code, 'HERALD_INVALID_PAYLOAD');
    assert.match(reason.get(invalid.id)?.message ?? '', /amount/);
    assert.equal(reason.get(unknown.id)?.code, 'HERALD_UNKNOWN_EVENT_TYPE');
    assert.equal(reason.get(notJson.id)?.code, 'HERALD_MALFORMED_MESSAGE');
    assert.match(reason.get(notJson.id)?.message ?? '', /not JSON/);
    const plainLetter = dead.find((d) => d.id === `${topic}/0/6`);
    assert.ok(plainLetter, 'a message with no event id is kept under topic/partition/offset');
    assert.equal(plainLetter.error.code, 'HERALD_MALFORMED_MESSAGE');
    assert.match(plainLetter.error.message, /not a CloudEvent/);
    assert.equal(plainLetter.body, '{"orderId":"o-7"}');
  });

  it('skips event types it has no handler for by default', async () => {
    const topic = await createTopic(1);
    const Known = defineEvent({
      type: 'known.event',
      version: 1,
      destination: topic,
      schema: z.object({ n: z.number() }),
      key: () => 'k',
    });
    await transport.publish([eventMessage(topic, 'other.event', { n: 1 }), eventMessage(topic, Known.type, { n: 2 })]);
    const consumer = createConsumer({ transport, group: uniqueName('g'), db: db.pool, schema: db.schema });
    const got: number[] = [];
    consumer.on(Known, (e) => {
      got.push(e.payload.n);
    });
    await consumer.start();
    try {
      await waitFor('both', () => consumer.stats().handled + consumer.stats().skipped === 2, 30_000);
    } finally {
      await consumer.stop();
    }
    assert.deepEqual(got, [2]);
    assert.equal(consumer.stats().skipped, 1);
    assert.equal(consumer.stats().deadLettered, 0);
  });

  // Found by test/consume/decode-fuzz.test.ts: attribute headers were read with U+FFFD for bytes
  // that are not UTF-8, so two events whose ids differed only in those bytes read as one id (the
  // second skipped as a duplicate) and a spoilt source or type was handled as if it were fine.
  it('dead-letters a message whose CloudEvents attributes are not UTF-8; its own headers may be anything', async () => {
    const topic = await createTopic(1);
    const Noted = defineEvent({
      type: uniqueName('noted'),
      version: 1,
      destination: topic,
      schema: z.object({ n: z.number() }),
      key: () => 'k',
    });
    const record = (id: Buffer, n: number, extra: [string, Buffer][] = []) => {
      const headers = new Map<Buffer, Buffer>([
        [Buffer.from('ce_specversion'), Buffer.from('1.0')],
        [Buffer.from('ce_id'), id],
        [Buffer.from('ce_source'), Buffer.from('/test')],
        [Buffer.from('ce_type'), Buffer.from(Noted.type)],
        [Buffer.from('content-type'), Buffer.from('application/json')],
        ...extra.map(([k, v]) => [Buffer.from(k), v] as [Buffer, Buffer]),
      ]);
      return { topic, key: Buffer.from('k'), value: Buffer.from(JSON.stringify({ n })), headers };
    };
    const producer = new Producer({ clientId: 'herald-test', bootstrapBrokers: brokers });
    try {
      await producer.send({
        messages: [
          // Two ids that differ only in bytes that are not UTF-8.
          record(Buffer.from([0x69, 0x64, 0xff]), 1),
          record(Buffer.from([0x69, 0x64, 0xfe]), 2),
          record(Buffer.from('fine-1'), 3, [['ce_source', Buffer.from([0x2f, 0xc0, 0xaf])]]),
          // A header of the writer's own that is not UTF-8 is read with U+FFFD, and handled.
          record(Buffer.from('fine-2'), 4, [['x-note', Buffer.from([0x61, 0x80])]]),
        ],
      });
    } finally {
      await producer.close();
    }
    const group = uniqueName('g');
    const consumer = createConsumer({ transport, group, db: db.pool, schema: db.schema, deadLetterTopic: false });
    const seen: { n: number; note: string | undefined }[] = [];
    consumer.on(Noted, (event) => {
      seen.push({ n: event.payload.n, note: event.headers['x-note'] });
    });
    await consumer.start();
    try {
      await waitFor('every message', () => consumer.stats().handled + consumer.stats().deadLettered === 4, 30_000);
    } finally {
      await consumer.stop();
    }
    assert.deepEqual(seen, [{ n: 4, note: 'a\uFFFD' }]);
    const letters = createConsumerDeadLetters({ db: db.pool, schema: db.schema });
    const dead = await letters.list({ groups: [group] });
    await letters.close();
    // The two spoilt ids kept by position: read as text, they would be one.
    assert.deepEqual(dead.map((d) => d.id).sort(), ['fine-1', `${topic}/0/0`, `${topic}/0/1`]);
    for (const d of dead) assert.equal(d.error.code, 'HERALD_MALFORMED_MESSAGE');
    assert.match(dead.find((d) => d.id === `${topic}/0/0`)?.error.message ?? '', /header ce_id is not UTF-8/);
    assert.match(dead.find((d) => d.id === 'fine-1')?.error.message ?? '', /header ce_source is not UTF-8/);
  });
});
