import { checkDestination } from '../../config/names.ts';
import type { OutgoingMessage } from '../transport.ts';
import { loadKafka, type Producer, withDeadline } from './client.ts';
import { toHeraldError } from './errors.ts';
import { type KafkaSettings, producerClientId } from './options.ts';
import { partitionAssigner } from './partitioners.ts';
import { chunkBySize, type KafkaRecord, toRecord } from './wire.ts';

/**
 * The publishing side of a kafka() transport: an idempotent producer (acks=all, one request in
 * flight per broker, so per-partition order holds across retries) with Java's partitioner
 * (murmur2 & 0x7fffffff). A batch goes out in produce requests of at most `maxRequestBytes`,
 * one after the other.
 */
export function createPublisher(settings: KafkaSettings) {
  const { target, deadlineMs } = settings;
  let producer: Producer | null = null;
  let partitionOf: ((m: OutgoingMessage) => number | undefined) | null = null;

  const open = async () => {
    if (producer) return producer;
    const lib = await loadKafka();
    // Calls that started together (a consumer's first dead letters, from several runs) waited
    // for the module side by side: the first to get here makes the producer, the rest use it. A
    // producer made by each and kept by none stayed connected after close().
    if (producer) return producer;
    partitionOf ??= partitionAssigner(settings.partitioner, settings.partitionerByType, (key) =>
      lib.compatibilityPartitioner(undefined as never, key),
    );
    producer = new lib.Producer({
      clientId: settings.clientId ?? producerClientId,
      bootstrapBrokers: settings.brokers,
      ...settings.connection,
      idempotent: true,
      acks: lib.ProduceAcks.ALL,
      partitioner: lib.compatibilityPartitioner,
      autocreateTopics: settings.autocreateTopics,
      timeout: settings.timeoutMs,
      // Herald retries whole batches with its own backoff; the client fails fast.
      retries: 1,
      retryDelay: 250,
      ...(settings.compression !== 'none' ? { compression: settings.compression } : {}),
    });
    return producer;
  };

  return {
    async connect(): Promise<void> {
      const p = await open();
      try {
        await withDeadline(p.metadata({ topics: [] }), deadlineMs, target);
      } catch (error) {
        throw toHeraldError(error, target, settings.autocreateTopics);
      }
    },
    async publish(messages: readonly OutgoingMessage[]): Promise<void> {
      let checked: string | undefined;
      for (const m of messages) {
        if (m.topic === checked) continue;
        checkDestination(m.topic, `topic of event ${m.id}`);
        checked = m.topic;
      }
      const p = await open();
      try {
        const records = messages.map((m) => toRecord(m, partitionOf?.(m)));
        for (const chunk of chunkBySize(records, settings.maxRequestBytes)) {
          for (const run of compressionRuns(chunk, settings)) {
            const compression = run.compression === settings.compression ? {} : { compression: run.compression };
            await withDeadline(p.send({ messages: run.records, ...compression }), deadlineMs, target);
          }
        }
      } catch (error) {
        throw toHeraldError(error, target, settings.autocreateTopics);
      }
    },
    async close(): Promise<void> {
      const p = producer;
      producer = null;
      // After a failure the producer is replaced, so the next attempt starts with a fresh
      // producer id and sequence numbers instead of inheriting a broken idempotence state.
      if (p) await withDeadline(p.close(true), deadlineMs, target).catch(() => {});
    },
  };
}

/**
 * A chunk as runs of consecutive records compressed alike (compressionByDestination), sent one
 * after the other: one request per run, the order kept.
 */
function compressionRuns(chunk: KafkaRecord[], settings: KafkaSettings) {
  const byTopic = settings.compressionByDestination;
  const runs: { compression: KafkaSettings['compression']; records: KafkaRecord[] }[] = [];
  for (const r of chunk) {
    const compression = byTopic[r.topic] ?? settings.compression;
    const last = runs[runs.length - 1];
    if (last && last.compression === compression) last.records.push(r);
    else runs.push({ compression, records: [r] });
  }
  return runs;
}
