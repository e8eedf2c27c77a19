// RabbitMQ's and SQS's credentials, like Kafka's and PostgreSQL's (secrets.test.ts), never reach
// an error (its message, its details, its cause, util.inspect of it), a consumer's logs at debug or
// its stats: a password the broker refuses, a broker that cannot be reached, and (SQS, whose
// ElasticMQ takes any key) a whole publish-and-consume run with the keys.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { inspect } from 'node:util';
import { z } from 'zod';
import { ELASTICMQ_ENDPOINT, ELASTICMQ_REGION } from '../../infra/elasticmq.mjs';
import { createConsumer, defineEvent, isHeraldError, type Transport } from '../../src/index.ts';
import { rabbitmq } from '../../src/transports/rabbitmq/index.ts';
import { sqs } from '../../src/transports/sqs/index.ts';
import { eventMessage } from '../support/consumer.ts';
import { freshSchema, type TestSchema, uniqueName } from '../support/env.ts';
import { rabbitmqUrl } from '../support/rabbitmq.ts';
import { waitFor } from '../support/relay-process.ts';
import { assertNoSecret, captureLogger } from './secrets.ts';

/** Everything an error shows: message, code, details, cause, and util.inspect's whole tree. */
const shown = (error: unknown) => [
  String((error as Error)?.message),
  JSON.stringify(error),
  JSON.stringify((error as { details?: unknown })?.details ?? null),
  inspect(error, { depth: 8 }),
];

/** Runs `fn`, which must fail, and gives what its error shows. */
const failure = async (fn: () => Promise<unknown>) => {
  const error = await fn().then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );
  assert.ok(isHeraldError(error), `a typed error, not ${inspect(error)}`);
  return shown(error);
};

const Ping = (topic: string) =>
  defineEvent({
    type: 'secret.ping',
    version: 1,
    destination: topic,
    schema: z.object({ n: z.number() }),
    key: (p) => String(p.n),
  });

/** A consumer of `transport` at debug until it handled `expect` events (or a few seconds): its log lines and stats. */
async function consumerOutputs(transport: Transport, db: TestSchema, topic: string, expect = 0) {
  const logs = captureLogger();
  const consumer = createConsumer({
    transport,
    group: 'g',
    db: db.pool,
    schema: db.schema,
    logger: logs.logger,
    retry: { initialMs: 50, maxMs: 200 },
  });
  let handled = 0;
  consumer.on(Ping(topic), async () => {
    handled++;
  });
  await consumer.start().catch((e: unknown) => logs.lines.push(...shown(e)));
  try {
    if (expect > 0) await waitFor('the events handled', () => handled >= expect, 30_000);
    else await new Promise((r) => setTimeout(r, 2500));
  } finally {
    await consumer.stop();
  }
  return { outputs: [...logs.lines, JSON.stringify(consumer.stats())], handled };
}

describe('RabbitMQ and SQS credentials never reach errors, logs or stats', () => {
  let db: TestSchema;
  before(async () => {
    db = await freshSchema();
  });
  after(() => db.drop());

  it('RabbitMQ: a refused password and an unreachable broker', async () => {
    const secret = 'amqp-Secret-Pw-4f2c';
    const { username, host } = new URL(rabbitmqUrl);
    const refused = rabbitmq({ url: `amqp://${username || 'guest'}:${secret}@${host}/`, timeoutMs: 3000 });
    const away = rabbitmq({ url: `amqp://herald:${secret}@127.0.0.1:1/`, timeoutMs: 1000 });
    const topic = uniqueName('sec');
    const outputs: string[] = [];
    try {
      outputs.push(...(await failure(() => refused.publish([eventMessage(topic, 'secret.ping', { n: 1 })]))));
      outputs.push(...(await failure(() => away.publish([eventMessage(topic, 'secret.ping', { n: 1 })]))));
      outputs.push(...(await consumerOutputs(refused, db, topic)).outputs);
    } finally {
      await refused.close();
      await away.close();
    }
    assert.ok(
      outputs.some((o) => o.includes('HERALD_AUTHENTICATION_FAILED')),
      'the refusal is typed',
    );
    assertNoSecret(outputs, [secret], 'RabbitMQ errors and logs');
  });

  it('SQS: a publish-and-consume run with access keys, and an unreachable endpoint', async (t: TestContext) => {
    const credentials = { accessKeyId: 'sqs-Secret-Id-8a1e', secretAccessKey: 'sqs-Secret-Key-3c9d' };
    const secrets = [credentials.accessKeyId, credentials.secretAccessKey];
    const endpoint = process.env.SQS_ENDPOINT ?? ELASTICMQ_ENDPOINT;
    const topic = uniqueName('sec');
    const good = sqs({
      endpoint,
      region: ELASTICMQ_REGION,
      credentials,
      timeoutMs: 2000,
      waitTimeSeconds: 1,
      groups: ['g'],
    });
    const away = sqs({ endpoint: 'http://127.0.0.1:1', region: 'x', credentials, timeoutMs: 1000, groups: ['g'] });
    const outputs: string[] = [];
    try {
      const up = await good.connect().then(
        () => null,
        (e: unknown) => e,
      );
      if (up) return t.skip(`no SQS endpoint at ${endpoint}: ${(up as Error).message}`);
      await good.publish([1, 2, 3].map((n) => eventMessage(topic, 'secret.ping', { n })));
      const run = await consumerOutputs(good, db, topic, 3);
      outputs.push(...run.outputs);
      assert.equal(run.handled, 3, 'the run with the keys worked');
      outputs.push(...(await failure(() => away.publish([eventMessage(topic, 'secret.ping', { n: 4 })]))));
    } finally {
      await good.close();
      await away.close();
    }
    assertNoSecret(outputs, secrets, 'SQS errors and logs');
  });
});
