import { startKafka, stopKafka } from '../infra/kafka.mjs';
import { kafka } from '../src/transports/kafka/index.ts';
import { conformance } from './conformance/suite.ts';
import { brokers } from './support/env.ts';
import { createTopic, readTopic } from './support/kafka.ts';

conformance({
  name: 'kafka',
  make: () => kafka({ brokers, timeoutMs: 2000, sessionTimeoutMs: 6000 }),
  destination: (partitions) => createTopic(partitions, 'herald-conf'),
  // Kafka protocol binding: `ce_` headers.
  attributeName: (attribute) => `ce_${attribute}`,
  readRaw: async (topic, count) =>
    (await readTopic(topic, count, { timeoutMs: 15_000 })).map((m) => ({
      key: m.key,
      headers: m.headers,
      body: m.value,
    })),
  stopBroker: async () => {
    await stopKafka();
  },
  startBroker: async () => {
    await startKafka();
  },
  oversized: async (_groups) => ({
    destination: await createTopic(1, 'herald-conf-small', { 'max.message.bytes': '20000' }),
    bytes: 20_000,
  }),
});
