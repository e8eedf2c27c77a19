import { before } from 'node:test';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ELASTICMQ_ENDPOINT, ELASTICMQ_REGION, privateElasticMq, startElasticMq } from '../../../infra/elasticmq.mjs';
import { sqs } from '../../../src/transports/sqs/index.ts';
import { defaultQueueName } from '../../../src/transports/sqs/names.ts';
import type { RawMessage } from '../../conformance/harness.ts';
import { conformance } from '../../conformance/suite.ts';
import { uniqueName } from '../../support/env.ts';

const endpoint = process.env.SQS_ENDPOINT ?? ELASTICMQ_ENDPOINT;
// ElasticMQ takes any credentials; the SDK needs some.
const credentials = { accessKeyId: 'herald', secretAccessKey: 'herald' };
const adminOf = (at: string) => new SQSClient({ endpoint: at, region: ELASTICMQ_REGION, credentials });
const admin = adminOf(endpoint);

// SQS has no fan-out: the transport sends each message to the queue of every group its
// destination is delivered to. destination() names them here, as an application's settings would.
const groupsOf = new Map<string, string[]>();

async function destination(groups: string[], client = admin): Promise<string> {
  const name = uniqueName('herald-conf');
  groupsOf.set(name, groups);
  for (const group of groups) {
    await client.send(
      new CreateQueueCommand({ QueueName: defaultQueueName(name, group), Attributes: { FifoQueue: 'true' } }),
    );
  }
  return name;
}

/** The transport under test on the server at `at`, and a way to make its destinations there. */
const on = (at: string, client = admin) => ({
  make: () =>
    sqs({
      endpoint: at,
      region: ELASTICMQ_REGION,
      credentials,
      groups: (d) => groupsOf.get(d) ?? [],
      timeoutMs: 2000,
      visibilityTimeoutSeconds: 10,
    }),
  destination: (_partitions: number, groups: string[]) => destination(groups, client),
});

/**
 * Structured mode: the CloudEvents attributes are members of the JSON body, not headers. To let the
 * suite read them as it reads a binary binding's headers, this puts the envelope's attributes
 * (without `data`) in `headers` under their own names, with the message attributes (content-type,
 * user headers), and the envelope's `data` as `body`; hence `attributeName: (a) => a`.
 */
async function readRaw(destination: string, count: number, group: string): Promise<RawMessage[]> {
  const { QueueUrl } = await admin.send(
    new CreateQueueCommand({ QueueName: defaultQueueName(destination, group), Attributes: { FifoQueue: 'true' } }),
  );
  const out: RawMessage[] = [];
  const deadline = Date.now() + 15_000;
  while (out.length < count && Date.now() < deadline) {
    const got = await admin.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: Math.min(10, count - out.length),
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['MessageGroupId'],
      }),
    );
    const messages = got.Messages ?? [];
    if (messages.length === 0) continue;
    for (const m of messages) {
      const { data, ...attributes } = JSON.parse(m.Body ?? '{}') as Record<string, unknown>;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(attributes)) headers[k] = String(v);
      for (const [k, v] of Object.entries(m.MessageAttributes ?? {})) headers[k] = v.StringValue ?? '';
      out.push({ key: m.Attributes?.MessageGroupId ?? null, headers, body: JSON.stringify(data) });
    }
    // Read once: taken off the group's queue.
    await admin.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return out;
}

// `node --test test/transports/sqs/conformance.test.ts` works without `npm run infra:up`: idempotent.
before(async () => {
  await startElasticMq();
});

conformance({
  name: 'sqs',
  ...on(endpoint),
  attributeName: (attribute) => attribute,
  readRaw,
  // An ElasticMQ of its own (infra/elasticmq.mjs), stopped with SIGTERM and started again on the
  // same port and H2 store.
  privateBroker: async () => {
    const server = await privateElasticMq();
    const client = adminOf(server.endpoint);
    return {
      ...on(server.endpoint, client),
      stopBroker: async () => {
        await server.stop();
      },
      startBroker: async () => {
        await server.start();
      },
      destroy: async () => {
        client.destroy();
        await server.destroy();
      },
    };
  },
  // SQS's limit is fixed (1 MiB, body and attributes); the transport refuses a larger message
  // before sending it, as SQS would.
  oversized: async (groups) => ({ destination: await destination(groups), bytes: 1_048_576 }),
});
