import { HeraldError } from '../../errors.ts';
import { loadOptional } from '../../optional.ts';
import { withDeadline as deadline } from '../deadline.ts';

export type KafkaModule = typeof import('@platformatic/kafka');
export type Producer = InstanceType<KafkaModule['Producer']>;

export function loadKafka(): Promise<KafkaModule> {
  return loadOptional(() => import('@platformatic/kafka'), '@platformatic/kafka', 'the Kafka transport');
}

/**
 * Rejects if `promise` has not settled in `ms`. @platformatic/kafka 2.12's idempotent producer
 * never settles metadata() or send() when no broker is reachable (seen here: the callback is
 * lost and the process idles), so every call to it goes through this deadline.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, brokers: string): Promise<T> {
  return deadline(
    promise,
    ms,
    () =>
      new HeraldError('HERALD_BROKER_UNAVAILABLE', `cannot reach Kafka at ${brokers}: no answer in ${ms} ms`, {
        retriable: true,
      }),
  );
}
