import type { Consumer, Message, MessagesStream } from '@platformatic/kafka';
import { HeraldError } from '../../errors.ts';
import type { Delivery, PartitionLag, SubscribeOptions, Subscription } from '../transport.ts';
import { loadKafka, withDeadline } from './client.ts';
import { toHeraldError } from './errors.ts';
import type { KafkaSettings } from './options.ts';
import { fromRecordHeaders } from './wire.ts';

const text = (b: Buffer | undefined | null) => (b == null ? null : b.toString()); // no argument: node's fast path to UTF-8

/**
 * A record as a delivery: ack() commits `offset + 1` of its partition, unless `stale` says the
 * record came from an earlier membership of the group (see `fetchedEarlier`). One whose CloudEvents
 * attributes are not UTF-8 is `undecodable` (HERALD_MALFORMED_MESSAGE): dead-lettered, never read
 * with U+FFFD in its id or type.
 */
function toDelivery(m: Message, settings: KafkaSettings, stale: (m: Message) => boolean): Delivery {
  const { headers, notUtf8 } = fromRecordHeaders(m.headers);
  const offset = m.offset.toString();
  return {
    topic: m.topic,
    partition: m.partition,
    offset,
    key: text(m.key),
    value: m.value ?? Buffer.alloc(0),
    headers,
    ...(notUtf8.length > 0
      ? {
          undecodable: new HeraldError(
            'HERALD_MALFORMED_MESSAGE',
            `${m.topic}[${m.partition}]@${offset}: header ${notUtf8.join(', ')} is not UTF-8`,
            { details: { topic: m.topic, partition: m.partition, offset, headers: notUtf8 } },
          ),
        }
      : {}),
    ack: async () => {
      if (stale(m)) return;
      try {
        await withDeadline(Promise.resolve(m.commit()), settings.deadlineMs, settings.target);
      } catch (error) {
        throw toHeraldError(error, settings.target);
      }
    },
  };
}

/**
 * Lag per partition: end offset minus the group's committed one. A group with nothing committed
 * has the whole partition ahead of it from `earliest` (what retention left), and nothing from
 * `latest`; the earliest offsets are asked for only when some partition has no commit.
 */
async function measureLag(consumer: Consumer, settings: KafkaSettings, options: SubscribeOptions) {
  const call = <T>(promise: Promise<T>) => withDeadline(promise, settings.deadlineMs, settings.target);
  const ends = await call(consumer.listOffsets({ topics: options.topics }));
  const committed = await call(
    consumer.listCommittedOffsets({
      topics: [...ends].map(([topic, offsets]) => ({ topic, partitions: offsets.map((_, i) => i) })),
    }),
  );
  const uncommitted = [...ends].some(([topic, offsets]) =>
    offsets.some((_, partition) => !((committed.get(topic)?.[partition] ?? -1n) >= 0n)),
  );
  const starts =
    options.from === 'latest' || !uncommitted
      ? ends
      : await call(consumer.listOffsets({ topics: options.topics, timestamp: -2n }));
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
}

/**
 * Whether a record was fetched before the consumer's current membership of the group, or the
 * consumer is rejoining now. Its commit is then not sent: the client would queue it and send it
 * once the group is joined again, for a partition that may have moved to another member meanwhile
 * (a consumer paused past its session timeout, then resumed), setting the group's offset back and
 * making the new owner read again what it had already handled. Kafka's own Java client fails such
 * commits. Leaving it out loses nothing: the record was handled (its effect and inbox row are
 * committed) and at worst is delivered once more, where the inbox skips it.
 */
export function fetchedEarlier(m: Pick<Message, 'metadata'>, consumer: Pick<Consumer, 'generationId' | 'isActive'>) {
  const fetchedIn = (m.metadata?.consumer as { generationId?: unknown } | undefined)?.generationId;
  if (typeof fetchedIn !== 'number') return false;
  return !consumer.isActive() || fetchedIn !== consumer.generationId;
}

/**
 * A consumer group member through @platformatic/kafka: reads from the group's committed offsets
 * (from `earliest` for a new group), never commits by itself, and commits `offset + 1` of a
 * message when Herald acknowledges it. Its client id is `clientId` (or HERALD_CLIENT_ID), else
 * `herald-<group>`.
 */
export async function subscribeKafka(settings: KafkaSettings, options: SubscribeOptions): Promise<Subscription> {
  const lib = await loadKafka();
  const { target, deadlineMs, sessionTimeoutMs } = settings;
  const consumer = new lib.Consumer({
    clientId: settings.clientId ?? `herald-${options.group}`,
    groupId: options.group,
    bootstrapBrokers: settings.brokers,
    ...settings.connection,
    timeout: settings.timeoutMs,
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.floor(sessionTimeoutMs / 3)),
    rebalanceTimeout: Math.max(sessionTimeoutMs, 30_000),
    retries: 1,
    retryDelay: 250,
    // Create the group's topics if missing (as the producer does), so a consumer may start first.
    autocreateTopics: settings.autocreateTopics,
  });
  let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  // The client emits 'error' when it gives up on a step of its own (a rejoin that failed its
  // retries while the group rebalanced, seen in the end-to-end chaos run); with no listener that
  // ended the process. It ends the subscription instead: the consumer subscribes again, as after
  // any outage.
  consumer.on('error', (error: Error) => stream?.destroy(error));
  try {
    stream = await withDeadline(
      consumer.consume({
        topics: options.topics,
        mode: lib.MessagesStreamModes.COMMITTED,
        fallbackMode:
          options.from === 'latest' ? lib.MessagesStreamFallbackModes.LATEST : lib.MessagesStreamFallbackModes.EARLIEST,
        autocommit: false,
        maxWaitTime: 500,
        // One fetch is decoded whole: its size bounds memory during a catch-up (see fetchMaxBytes),
        // and a small buffer of decoded records ahead of the handlers is enough to keep them busy.
        maxBytes: settings.fetchMaxBytes,
        highWaterMark: 256,
      }),
      deadlineMs,
      target,
    );
  } catch (error) {
    await consumer.close(true).catch(() => {});
    throw toHeraldError(error, target);
  }

  const stale = (m: Message) => fetchedEarlier(m, consumer);
  const iterate = async function* (): AsyncGenerator<Delivery> {
    try {
      for await (const m of stream) yield toDelivery(m, settings, stale);
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
    assignment: () => (consumer.assignments ?? []).map((a) => ({ topic: a.topic, partitions: [...a.partitions] })),
    async lag(): Promise<PartitionLag[]> {
      try {
        return await measureLag(consumer, settings, options);
      } catch (error) {
        throw toHeraldError(error, target);
      }
    },
  };
}
