// Why the relay keeps one produce request in flight: what the Kafka client does with two. Two
// batches for one partition go out without waiting for each other, the first refused by the
// broker (a record over the topic's max.message.bytes). With one request in flight, the second
// would wait, and the first would be published again (one by one, the refused record
// dead-lettered) before it. With two, the client's idempotent producer sees the second refused
// as out of order, takes a new producer id and sends it again: it is appended, and the first
// batch's events, published again, land after it. Per-key order is broken.
import { Consumer, type Message, MessagesStreamModes, ProduceAcks, Producer } from '@platformatic/kafka';
import { createTopic, deleteTopics } from './topic.ts';

export interface InFlightResult {
  /** The first batch (one event, then one over the topic's limit): refused. */
  first: 'appended' | 'refused';
  /** The second batch (one event, same key), sent before the first was answered. */
  second: 'appended' | 'refused';
  /** The producer id before and after: a new one means the client started over. */
  producerIds: [string, string];
  /** The partition's events in log order, after the first batch's event was published again. */
  log: string[];
  /** Whether the key's events are in the order they were written (a1 before b1). */
  orderKept: boolean;
}

const limitBytes = 10_000;

export async function inFlightBench(brokers: string[]): Promise<InFlightResult> {
  const topic = await createTopic(brokers, 'herald-bench-in-flight', 1, [
    { name: 'max.message.bytes', value: String(limitBytes) },
  ]);
  // The relay's producer settings (src/transports/kafka/publish.ts).
  const producer = new Producer({
    clientId: 'herald-bench-in-flight',
    bootstrapBrokers: brokers,
    idempotent: true,
    acks: ProduceAcks.ALL,
    retries: 1,
    retryDelay: 50,
  });
  const record = (name: string, padding = 0) => ({
    topic,
    partition: 0,
    key: Buffer.from('one-key'),
    value: Buffer.concat([Buffer.from(name), Buffer.alloc(padding)]),
  });
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => 'appended' as const,
      () => 'refused' as const,
    );
  try {
    await producer.send({ messages: [record('warm-up')] });
    const before = String(producer.producerId);
    const first = outcome(producer.send({ messages: [record('a1'), record('a2-too-large', limitBytes * 2)] }));
    const second = outcome(producer.send({ messages: [record('b1')] }));
    const result = { first: await first, second: await second, producerIds: [before, String(producer.producerId)] };
    // What the relay does with a refused batch: publishes it again one by one; a1 is taken.
    await producer.send({ messages: [record('a1')] });
    const log = (await readAll(brokers, topic, 4)).map((m) => m.value.toString('utf8').replace(/\0+$/, ''));
    const [a1, b1] = [log.indexOf('a1'), log.indexOf('b1')];
    return { ...result, producerIds: result.producerIds as [string, string], log, orderKept: b1 < 0 || a1 < b1 };
  } finally {
    await producer.close();
    await deleteTopics(brokers, [topic]).catch(() => {});
  }
}

async function readAll(brokers: string[], topic: string, expected: number): Promise<Message<Buffer, Buffer>[]> {
  const consumer = new Consumer({ clientId: 'herald-bench-in-flight', groupId: topic, bootstrapBrokers: brokers });
  const seen: Message<Buffer, Buffer>[] = [];
  try {
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, maxWaitTime: 200 });
    const timer = setTimeout(() => void stream.close(), 5_000);
    for await (const m of stream as AsyncIterable<Message<Buffer, Buffer>>) {
      seen.push(m);
      if (seen.length >= expected) break;
    }
    clearTimeout(timer);
    await stream.close().catch(() => {});
  } finally {
    await consumer.close();
  }
  return seen;
}
