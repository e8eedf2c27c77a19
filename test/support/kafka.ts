import { Admin, Consumer } from '@platformatic/kafka';
import { brokers, uniqueName } from './env.ts';

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: bigint;
  key: string;
  value: string;
  /** The value as it arrived (binary formats: Avro). */
  bytes: Buffer;
  headers: Record<string, string>;
  /** The record's timestamp (ms since the epoch). */
  timestamp: bigint;
}

/**
 * Creates a topic with a random name; a plain admin client, not Herald's. On the shared broker
 * unless `on` names others (a private broker of infra/kafka.mjs).
 */
export async function createTopic(
  partitions = 3,
  prefix = 'herald-test',
  configs: Record<string, string> = {},
  on: string[] = brokers,
  replicas = 1,
): Promise<string> {
  const topic = uniqueName(prefix);
  const admin = new Admin({ clientId: 'herald-test-admin', bootstrapBrokers: on });
  try {
    await admin.createTopics({
      topics: [topic],
      partitions,
      replicas,
      configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
    });
  } finally {
    await admin.close();
  }
  return topic;
}

/** Changes one setting of a topic, as an operator fixing a cause would. */
export async function setTopicConfig(topic: string, name: string, value: string): Promise<void> {
  const admin = new Admin({ clientId: 'herald-test-admin', bootstrapBrokers: brokers });
  try {
    await admin.incrementalAlterConfigs({
      resources: [{ resourceType: 2, resourceName: topic, configs: [{ name, value, configOperation: 0 }] }],
    });
  } finally {
    await admin.close();
  }
}

/**
 * Reads a topic from the beginning with a plain Kafka consumer (a fresh group each time) until
 * `count` records arrived (and then `settleMs` more), or with `untilIds` until every one of those
 * event ids was seen (duplicates included in the result), or `timeoutMs` passed. Records come
 * back in offset order per partition. From the shared broker unless `brokers` names others.
 */
export async function readTopic(
  topic: string,
  count: number,
  {
    timeoutMs = 30_000,
    settleMs = 0,
    untilIds,
    brokers: on = brokers,
  }: { timeoutMs?: number; settleMs?: number; untilIds?: string[]; brokers?: string[] } = {},
): Promise<ReadMessage[]> {
  const consumer = new Consumer({
    groupId: uniqueName('herald-test-reader'),
    clientId: 'herald-test-reader',
    bootstrapBrokers: on,
    maxWaitTime: 200,
  });
  const out: ReadMessage[] = [];
  const positions = new Set<string>();
  let waiting: Set<string> | undefined;
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
  const deadline = setTimeout(() => void stream.close(), timeoutMs);
  try {
    for await (const m of stream) {
      // A record is its (partition, offset): a rebalance of the reader's own group can hand it
      // the same record twice, which is not a duplicate in the topic.
      const position = `${m.partition}:${m.offset}`;
      if (positions.has(position)) continue;
      positions.add(position);
      const headers: Record<string, string> = {};
      for (const [k, v] of m.headers) headers[k.toString()] = v.toString();
      out.push({
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        key: m.key?.toString() ?? '',
        value: m.value?.toString() ?? '',
        bytes: m.value ?? Buffer.alloc(0),
        headers,
        timestamp: m.timestamp,
      });
      if (untilIds) {
        waiting ??= new Set(untilIds);
        waiting.delete(headers.ce_id ?? '');
        if (waiting.size === 0) break;
        continue;
      }
      if (out.length === count) {
        if (settleMs === 0) break;
        // Keep reading a little: duplicates beyond `count` are what some tests count.
        setTimeout(() => void stream.close(), settleMs).unref();
      }
    }
  } finally {
    clearTimeout(deadline);
    await stream.close().catch(() => {});
    await consumer.close(true).catch(() => {});
  }
  return out;
}
