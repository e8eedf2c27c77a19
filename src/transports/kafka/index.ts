import { HeraldError } from '../../errors.ts';
import { checkDestination } from '../../events/validate.ts';
import type { OutgoingMessage, Transport } from '../transport.ts';
import { loadKafka, type Producer, withDeadline } from './client.ts';
import { toHeraldError } from './errors.ts';
import { subscribeKafka } from './subscribe.ts';

export interface KafkaOptions {
  /** `host:port` strings, or one comma-separated string. */
  brokers: string[] | string;
  clientId?: string;
  /** Per-request timeout in ms; default 10 000. */
  timeoutMs?: number;
  /** Let the broker create missing topics on first publish (if it allows); default true. */
  autocreateTopics?: boolean;
  compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  /**
   * Most bytes sent in one produce request; a larger batch goes out as several requests, one
   * after the other (order kept). Default 900 000, under Kafka's default 1 MB
   * `message.max.bytes`, which applies to the records of one partition in one request.
   */
  maxRequestBytes?: number;
  /** Consumers: a member that stops heartbeating leaves its group after this; default 10 000 ms. */
  sessionTimeoutMs?: number;
}

/** Approximate bytes of a record on the wire: enough to stay under the broker's limit. */
function recordBytes(m: OutgoingMessage): number {
  let bytes = 64 + Buffer.byteLength(m.key) + m.value.length;
  for (const [k, v] of Object.entries(m.headers)) bytes += 8 + k.length + Buffer.byteLength(v);
  return bytes;
}

/** Splits messages, in order, into runs of at most `maxBytes` (a single larger message alone). */
export function chunkBySize(messages: readonly OutgoingMessage[], maxBytes: number): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let size = 0;
  for (const m of messages) {
    const bytes = recordBytes(m);
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(m);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

const brokerPattern = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

export function parseBrokers(brokers: string[] | string, setting = 'brokers'): string[] {
  const list = (Array.isArray(brokers) ? brokers : brokers.split(',')).map((b) => b.trim()).filter((b) => b.length > 0);
  const bad = list.find((b) => !brokerPattern.test(b));
  if (list.length === 0 || bad !== undefined) {
    throw new HeraldError(
      'HERALD_INVALID_CONFIG',
      `${setting}: ${JSON.stringify(bad ?? brokers)} is not a list of host:port`,
      { details: { setting } },
    );
  }
  return list;
}

/**
 * Kafka through @platformatic/kafka: idempotent producer (acks=all, one request in flight per
 * broker, so per-partition order holds across retries) and Java's partitioner
 * (murmur2 & 0x7fffffff), so a key lands where a Java or librdkafka producer would put it.
 */
export function kafka(options: KafkaOptions): Transport {
  const brokers = parseBrokers(options.brokers);
  const clientId = options.clientId ?? 'herald-relay';
  const target = brokers.join(',');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadlineMs = timeoutMs * 2 + 1000;
  const maxRequestBytes = options.maxRequestBytes ?? 900_000;
  const autocreate = options.autocreateTopics ?? true;

  const sendChunk = (p: Producer, chunk: OutgoingMessage[]) =>
    withDeadline(
      p.send({
        messages: chunk.map((m) => ({
          topic: m.topic,
          key: Buffer.from(m.key),
          value: m.value,
          // A Map of Buffers: with the client's no-op serialisers, header names must be Buffers too.
          headers: new Map(Object.entries(m.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
        })),
      }),
      deadlineMs,
      target,
    );
  let producer: Producer | null = null;
  let compression: string | undefined;

  const open = async () => {
    if (producer) return producer;
    const lib = await loadKafka();
    compression = options.compression;
    producer = new lib.Producer({
      clientId,
      bootstrapBrokers: brokers,
      idempotent: true,
      acks: lib.ProduceAcks.ALL,
      partitioner: lib.compatibilityPartitioner,
      autocreateTopics: autocreate,
      timeout: timeoutMs,
      // Herald retries whole batches with its own backoff; the client fails fast.
      retries: 1,
      retryDelay: 250,
      ...(compression && compression !== 'none' ? { compression: compression as 'gzip' } : {}),
    });
    return producer;
  };

  return {
    name: 'kafka',
    describe: () => target,
    async connect() {
      const p = await open();
      try {
        await withDeadline(p.metadata({ topics: [] }), deadlineMs, target);
      } catch (error) {
        throw toHeraldError(error, target, autocreate);
      }
    },
    async publish(messages: readonly OutgoingMessage[]) {
      for (const m of messages) checkDestination(m.topic, `topic of event ${m.id}`);
      const p = await open();
      try {
        for (const chunk of chunkBySize(messages, maxRequestBytes)) await sendChunk(p, chunk);
      } catch (error) {
        throw toHeraldError(error, target, autocreate);
      }
    },
    subscribe(subscription) {
      const sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
      return subscribeKafka(
        {
          brokers,
          clientId: options.clientId ?? `herald-${subscription.group}`,
          timeoutMs,
          sessionTimeoutMs,
          heartbeatIntervalMs: Math.max(500, Math.floor(sessionTimeoutMs / 3)),
          autocreateTopics: autocreate,
        },
        subscription,
      );
    },
    async close() {
      const p = producer;
      producer = null;
      // After a failure the producer is replaced, so the next attempt starts with a fresh
      // producer id and sequence numbers instead of inheriting a broken idempotence state.
      if (p) await withDeadline(p.close(true), deadlineMs, target).catch(() => {});
    },
  };
}
