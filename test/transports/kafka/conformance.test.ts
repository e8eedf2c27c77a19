import { privateKafka } from '../../../infra/kafka.mjs';
import { kafka } from '../../../src/transports/kafka/index.ts';
import { conformance } from '../../conformance/suite.ts';
import { brokers } from '../../support/env.ts';
import { createTopic, readTopic } from '../../support/kafka.ts';

/** The transport under test on the brokers `at`, and a way to make its topics there. */
const on = (at: string[]) => ({
  make: () => kafka({ brokers: at, timeoutMs: 2000, sessionTimeoutMs: 6000 }),
  destination: (partitions: number) => createTopic(partitions, 'herald-conf', {}, at),
});

conformance({
  name: 'kafka',
  ...on(brokers),
  // Kafka protocol binding: `ce_` headers.
  attributeName: (attribute) => `ce_${attribute}`,
  readRaw: async (topic, count) =>
    (await readTopic(topic, count, { timeoutMs: 15_000 })).map((m) => ({
      key: m.key,
      headers: m.headers,
      body: m.value,
    })),
  // A single-node broker of its own (infra/kafka.mjs), stopped with SIGTERM and started again on
  // the same ports and data dir.
  privateBroker: async () => {
    const broker = await privateKafka();
    return {
      ...on([broker.bootstrap]),
      stopBroker: async () => {
        await broker.stop();
      },
      startBroker: async () => {
        await broker.start();
      },
      destroy: broker.destroy,
    };
  },
  oversized: async (_groups) => ({
    destination: await createTopic(1, 'herald-conf-small', { 'max.message.bytes': '20000' }),
    bytes: 20_000,
  }),
});
