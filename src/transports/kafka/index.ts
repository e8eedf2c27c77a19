import { transportOf } from '../adapter.ts';
import type { Transport } from '../transport.ts';
import { type KafkaOptions, kafkaSettings } from './options.ts';
import { createPublisher } from './publish.ts';
import { subscribeKafka } from './subscribe.ts';

export type { KafkaOptions } from './options.ts';
export type { Partitioner, PartitionInput } from './partitioners.ts';

/**
 * Kafka through @platformatic/kafka: idempotent producer (acks=all, one request in flight per
 * broker, so per-partition order holds across retries) and Java's partitioner
 * (murmur2 & 0x7fffffff), so a key lands where a Java or librdkafka producer would put it.
 * Brokers and the client id default to KAFKA_BROKERS and HERALD_CLIENT_ID. See docs/kafka.md.
 */
export function kafka(options: KafkaOptions = {}): Transport {
  const settings = kafkaSettings(options);
  return transportOf('kafka', {
    describe: () => settings.target,
    publisher: createPublisher(settings),
    subscribe: (subscription) => subscribeKafka(settings, subscription),
  });
}
