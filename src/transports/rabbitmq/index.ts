import { transportOf } from '../adapter.ts';
import type { Transport } from '../transport.ts';
import { type RabbitMQOptions, resolveOptions } from './options.ts';
import { createPublisher } from './publish.ts';
import { subscribeRabbit } from './subscribe.ts';

export type { QueueType, RabbitMQOptions } from './options.ts';

/**
 * RabbitMQ through amqplib: a durable direct exchange per destination, routing key = partition of
 * the key (Kafka's murmur2), and per consumer group one durable queue per partition with single
 * active consumer, so each key keeps its order. Publishing waits for publisher confirms and
 * counts a returned (unroutable) message as a failure. See docs/rabbitmq.md.
 */
export function rabbitmq(options: RabbitMQOptions): Transport {
  const settings = resolveOptions(options);
  return transportOf('rabbitmq', {
    describe: () => settings.target,
    publisher: createPublisher(settings),
    subscribe: (subscription) => subscribeRabbit(settings, subscription),
  });
}
