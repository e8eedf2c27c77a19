import type { Delivery, PartitionLag, SubscribeOptions, Subscription } from '../transport.ts';
import { loadKafka, withDeadline } from './client.ts';
import { toHeraldError } from './errors.ts';

export interface KafkaConsumerSettings {
  brokers: string[];
  clientId: string;
  timeoutMs: number;
  /** A member that stops heartbeating is dropped from the group after this; default 10 000. */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Create the group's topics if missing (as the producer does), so a consumer may start first. */
  autocreateTopics: boolean;
}

const text = (b: Buffer | undefined | null) => (b == null ? null : b.toString('utf8'));

/**
 * A consumer group member through @platformatic/kafka: reads from the group's committed offsets
 * (from `earliest` for a new group), never commits by itself, and commits `offset + 1` of a
 * message when Herald acknowledges it.
 */
export async function subscribeKafka(
  settings: KafkaConsumerSettings,
  options: SubscribeOptions,
): Promise<Subscription> {
  const lib = await loadKafka();
  const target = settings.brokers.join(',');
  const deadlineMs = settings.timeoutMs * 2 + 1000;
  const consumer = new lib.Consumer({
    clientId: settings.clientId,
    groupId: options.group,
    bootstrapBrokers: settings.brokers,
    timeout: settings.timeoutMs,
    sessionTimeout: settings.sessionTimeoutMs,
    heartbeatInterval: settings.heartbeatIntervalMs,
    rebalanceTimeout: Math.max(settings.sessionTimeoutMs, 30_000),
    retries: 1,
    retryDelay: 250,
    autocreateTopics: settings.autocreateTopics,
  });
  let stream: Awaited<ReturnType<typeof consumer.consume>>;
  try {
    stream = await withDeadline(
      consumer.consume({
        topics: options.topics,
        mode: lib.MessagesStreamModes.COMMITTED,
        fallbackMode:
          options.from === 'latest' ? lib.MessagesStreamFallbackModes.LATEST : lib.MessagesStreamFallbackModes.EARLIEST,
        autocommit: false,
        maxWaitTime: 500,
      }),
      deadlineMs,
      target,
    );
  } catch (error) {
    await consumer.close(true).catch(() => {});
    throw toHeraldError(error, target);
  }

  const iterate = async function* (): AsyncGenerator<Delivery> {
    try {
      for await (const m of stream) {
        const headers: Record<string, string> = {};
        for (const [k, v] of m.headers) headers[k.toString('utf8')] = v.toString('utf8');
        yield {
          topic: m.topic,
          partition: m.partition,
          offset: m.offset.toString(),
          key: text(m.key),
          value: m.value ?? Buffer.alloc(0),
          headers,
          ack: async () => {
            try {
              await withDeadline(Promise.resolve(m.commit()), deadlineMs, target);
            } catch (error) {
              throw toHeraldError(error, target);
            }
          },
        };
      }
    } catch (error) {
      throw toHeraldError(error, target);
    }
  };

  let closed = false;
  return {
    [Symbol.asyncIterator]: iterate,
    async close() {
      if (closed) return;
      closed = true;
      await withDeadline(stream.close(), deadlineMs, target).catch(() => {});
      await withDeadline(consumer.close(true), deadlineMs, target).catch(() => {});
    },
    async lag(): Promise<PartitionLag[]> {
      try {
        const ends = await withDeadline(consumer.listOffsets({ topics: options.topics }), deadlineMs, target);
        const committed = await withDeadline(
          consumer.listCommittedOffsets({
            topics: [...ends].map(([topic, offsets]) => ({ topic, partitions: offsets.map((_, i) => i) })),
          }),
          deadlineMs,
          target,
        );
        // A group with nothing committed has the whole partition ahead of it from `earliest`
        // (what retention left), and nothing from `latest`. The earliest offsets are asked for
        // only when some partition has no commit: most measurements need one request less.
        const uncommitted = [...ends].some(([topic, offsets]) =>
          offsets.some((_, partition) => !((committed.get(topic)?.[partition] ?? -1n) >= 0n)),
        );
        const starts =
          options.from === 'latest' || !uncommitted
            ? ends
            : await withDeadline(consumer.listOffsets({ topics: options.topics, timestamp: -2n }), deadlineMs, target);
        const lag: PartitionLag[] = [];
        for (const [topic, offsets] of ends) {
          offsets.forEach((end, partition) => {
            const c = committed.get(topic)?.[partition];
            const known = c !== undefined && c >= 0n;
            lag.push({
              topic,
              partition,
              committed: known ? c.toString() : null,
              end: end.toString(),
              lag: Number(known ? end - c : end - (starts.get(topic)?.[partition] ?? 0n)),
            });
          });
        }
        return lag;
      } catch (error) {
        throw toHeraldError(error, target);
      }
    },
  };
}
