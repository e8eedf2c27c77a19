/**
 * What the SQS transport does beyond the conformance suite, on ElasticMQ: fan-out to the groups'
 * queues, the attribute overflow, hashed message groups, queue creation, the size limit on both
 * sides, an unreachable endpoint, lag, and the visibility heartbeat.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { ELASTICMQ_ENDPOINT, ELASTICMQ_REGION, startElasticMq } from '../../../infra/elasticmq.mjs';
import { isHeraldError } from '../../../src/index.ts';
import { toHeraldError } from '../../../src/transports/sqs/errors.ts';
import { type SqsOptions, sqs } from '../../../src/transports/sqs/index.ts';
import { defaultQueueName } from '../../../src/transports/sqs/names.ts';
import type { Delivery, Subscription, Transport } from '../../../src/transports/transport.ts';
import { decodeMessage } from '../../../src/wire/incoming.ts';
import { eventMessage } from '../../support/consumer.ts';
import { uniqueName } from '../../support/env.ts';

const endpoint = process.env.SQS_ENDPOINT ?? ELASTICMQ_ENDPOINT;
const credentials = { accessKeyId: 'herald', secretAccessKey: 'herald' };
const admin = new SQSClient({ endpoint, region: ELASTICMQ_REGION, credentials });
const make = (options: Partial<SqsOptions> = {}) =>
  sqs({ endpoint, region: ELASTICMQ_REGION, credentials, timeoutMs: 2000, waitTimeSeconds: 1, ...options });

async function take(subscription: Subscription, count: number, timeoutMs = 10_000): Promise<Delivery[]> {
  const out: Delivery[] = [];
  const it = subscription[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      it.next(),
      new Promise<null>((r) => {
        timer = setTimeout(() => r(null), deadline - Date.now());
      }),
    ]);
    clearTimeout(timer);
    if (next === null || next.done) break;
    out.push(next.value);
  }
  return out;
}

const subscribe = (t: Transport, group: string, topics: string[]) =>
  (t.subscribe as NonNullable<Transport['subscribe']>)({ group, topics });

async function queueCount(name: string): Promise<number> {
  const { QueueUrl } = await admin.send(new GetQueueUrlCommand({ QueueName: name }));
  const { Attributes } = await admin.send(
    new GetQueueAttributesCommand({
      QueueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
}

describe('sqs transport on ElasticMQ', () => {
  const transports: Transport[] = [];
  const track = (t: Transport) => {
    transports.push(t);
    return t;
  };
  before(async () => {
    await startElasticMq();
  });
  after(async () => {
    for (const t of transports) await t.close();
  });

  it('sends a message to the queue of each group, which read it on their own', async () => {
    const topic = uniqueName('fan');
    const t = track(make({ groups: ['billing', 'shipping'] }));
    const sent = eventMessage(topic, 'x.y', { n: 1 }, { key: 'order-7' });
    await t.publish([sent]);
    for (const group of ['billing', 'shipping']) {
      const s = await subscribe(t, group, [topic]);
      const [d] = await take(s, 1);
      assert.equal(d && decodeMessage(d).id, sent.id, group);
      await d?.ack();
      await s.close();
      assert.equal(await queueCount(defaultQueueName(topic, group)), 0);
    }
  });

  it('keeps headers beyond 10 message attributes, and a key SQS does not allow as a group id', async () => {
    const topic = uniqueName('hdr');
    const t = track(make({ groups: ['g'] }));
    const key = 'customer 42 / é';
    const headers = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`h-${i}`, `value ${i}`]));
    const sent = eventMessage(topic, 'x.y', { n: 1 }, { key });
    Object.assign(sent.headers, headers);
    const second = eventMessage(topic, 'x.y', { n: 2 }, { key });
    await t.publish([sent, second]);
    const s = await subscribe(t, 'g', [topic]);
    try {
      const got = await take(s, 2);
      assert.deepEqual(
        got.map((d) => decodeMessage(d).payload),
        [{ n: 1 }, { n: 2 }],
      );
      assert.equal(got[0]?.key, key);
      assert.equal(got[0]?.partition, got[1]?.partition);
      assert.deepEqual(decodeMessage(got[0] as Delivery).headers, headers);
      await got[1]?.ack(); // both: the first is earlier in its partition
    } finally {
      await s.close();
    }
    assert.equal(await queueCount(defaultQueueName(topic, 'g')), 0);
  });

  it('sends a destination with no group to a FIFO queue of its own', async () => {
    const topic = `${uniqueName('solo')}.dlq`;
    await track(make()).publish([eventMessage(topic, 'x.y', { n: 1 })]);
    const { QueueUrl } = await admin.send(new GetQueueUrlCommand({ QueueName: defaultQueueName(topic, null) }));
    const { Attributes } = await admin.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
    assert.equal(Attributes?.FifoQueue, 'true');
    assert.equal(await queueCount(defaultQueueName(topic, null)), 1);
  });

  it('does not create queues when told not to', async () => {
    const t = track(make({ groups: ['g'], autoCreateQueues: false }));
    const topic = uniqueName('none');
    await assert.rejects(
      t.publish([eventMessage(topic, 'x.y', { n: 1 })]),
      (e: unknown) => isHeraldError(e, 'HERALD_INVALID_DESTINATION') && !e.retriable,
    );
    await assert.rejects(subscribe(t, 'g', [topic]), (e: unknown) => isHeraldError(e, 'HERALD_INVALID_DESTINATION'));
  });

  it('refuses a message over the limit before sending; SQS refusing one maps the same', async () => {
    const topic = uniqueName('big');
    const t = track(make({ groups: ['g'] }));
    const big = eventMessage(topic, 'x.y', { pad: 'x'.repeat(1_048_576) });
    await assert.rejects(
      t.publish([eventMessage(topic, 'x.y', { n: 1 }), big]),
      (e: unknown) => isHeraldError(e, 'HERALD_MESSAGE_TOO_LARGE') && !e.retriable && e.details.id === big.id,
    );
    const { QueueUrl } = await admin.send(
      new CreateQueueCommand({ QueueName: defaultQueueName(topic, 'g'), Attributes: { FifoQueue: 'true' } }),
    );
    assert.equal(await queueCount(defaultQueueName(topic, 'g')), 0, 'nothing of the batch was sent');
    const refused = await admin
      .send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: 'x'.repeat(1_048_577),
          MessageGroupId: 'g',
          MessageDeduplicationId: 'd',
        }),
      )
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(refused, 'ElasticMQ refuses a body over 1 MiB');
    const mapped = toHeraldError(refused, endpoint);
    assert.equal(mapped.code, 'HERALD_MESSAGE_TOO_LARGE');
    assert.equal(mapped.retriable, false);
  });

  it('reports an unreachable endpoint as HERALD_BROKER_UNAVAILABLE, retriable, without hanging', async () => {
    const t = track(sqs({ endpoint: 'http://127.0.0.1:1', region: 'x', credentials, timeoutMs: 1000, groups: ['g'] }));
    const unavailable = (e: unknown) => isHeraldError(e, 'HERALD_BROKER_UNAVAILABLE') && e.retriable;
    const started = Date.now();
    await assert.rejects(t.connect(), unavailable);
    await assert.rejects(t.publish([eventMessage('t', 'x.y', { n: 1 })]), unavailable);
    await assert.rejects(subscribe(t, 'g', ['t']), unavailable);
    assert.ok(Date.now() - started < 15_000);
  });

  it('measures lag per queue, and keeps a slow message hidden while it is held', async () => {
    const topic = uniqueName('lag');
    const t = track(make({ groups: ['g'], visibilityTimeoutSeconds: 2 }));
    await t.publish([1, 2, 3].map((n) => eventMessage(topic, 'x.y', { n }, { key: 'a' })));
    const s = await subscribe(t, 'g', [topic]);
    try {
      assert.deepEqual(await s.lag(), [{ topic, partition: 0, lag: 3 }], 'SQS only counts: no positions');
      const got = await take(s, 3);
      assert.equal(got.length, 3);
      // Twice the visibility timeout: the heartbeat keeps them from another receiver.
      await new Promise((r) => setTimeout(r, 4500));
      const other = await subscribe(t, 'g', [topic]);
      assert.equal((await take(other, 1, 2000)).length, 0);
      await other.close();
      await got[2]?.ack();
      assert.equal((await s.lag())[0]?.lag, 0);
    } finally {
      await s.close();
    }
  });
});
