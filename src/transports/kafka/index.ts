import { transportOf } from '../adapter.ts';
import type { Transport } from '../transport.ts';
import { checkLogin, diagnosed, isLoginRefusal } from './diagnose.ts';
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
  /**
   * With TLS or SASL, a refused login or certificate would leave the producer waiting until its
   * deadline: until a call has gone through, and again after a refusal, each call checks the
   * login first (one metadata request), so a wrong password fails at once and typed
   * (docs/security.md). Once through, readiness probes and publishes go straight to the producer.
   */
  let passed = false;
  let refused = false;
  const loginChecked = async (call: () => Promise<void>) => {
    try {
      if (!passed || refused) await checkLogin(settings);
      refused = false;
      await call().catch((error) => diagnosed(error, settings));
      passed = true;
    } catch (error) {
      refused = isLoginRefusal(error);
      throw error;
    }
  };
  return transportOf('kafka', {
    describe: () => settings.target,
    publisher: {
      ...publisher,
      connect: () => loginChecked(() => publisher.connect()),
      publish: (messages) => loginChecked(() => publisher.publish(messages)),
    },
    subscribe: (subscription) => subscribeKafka(settings, subscription),
  });
}
