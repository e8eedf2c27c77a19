import { transportOf } from '../adapter.ts';
import type { Transport } from '../transport.ts';
import { diagnosed } from './diagnose.ts';
import { type KafkaOptions, kafkaSettings } from './options.ts';
import { createPublisher } from './publish.ts';
import { subscribeKafka } from './subscribe.ts';

export type { KafkaOptions, KafkaSaslOptions, KafkaTlsOptions } from './options.ts';
export type { Partitioner, PartitionInput } from './partitioners.ts';

/**
 * Kafka through @platformatic/kafka: idempotent producer (acks=all, one request in flight per
 * broker, so per-partition order holds across retries) and Java's partitioner
 * (murmur2 & 0x7fffffff), so a key lands where a Java or librdkafka producer would put it.
 * Brokers and the client id default to KAFKA_BROKERS and HERALD_CLIENT_ID. See docs/kafka.md.
 */
export function kafka(options: KafkaOptions = {}): Transport {
  const settings = kafkaSettings(options);
  const publisher = createPublisher(settings);
  return transportOf('kafka', {
    describe: () => settings.target,
    publisher: {
      ...publisher,
      connect: () => publisher.connect().catch((error) => diagnosed(error, settings)),
      publish: (messages) => publisher.publish(messages).catch((error) => diagnosed(error, settings)),
    },
    subscribe: (subscription) => subscribeKafka(settings, subscription),
  });
}
