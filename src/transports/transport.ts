import type { PartitionLag } from '../store/sql/consumer-lag.ts';
import type { IncomingMessage, OutgoingMessage } from '../wire/message.ts';

export type { PartitionLag } from '../store/sql/consumer-lag.ts';

export type { IncomingMessage, OutgoingMessage } from '../wire/message.ts';

/**
 * The transport port: publish a batch and resolve only when the broker has acknowledged every
 * message; subscribe a consumer group and acknowledge what it has handled. Kafka, RabbitMQ, NATS,
 * SQS and PostgreSQL are its adapters (each under `transports/<broker>/`, each passing
 * test/conformance/suite.ts); the in-memory one in `herald/testing` is for users' unit tests.
 *
 * What an adapter promises:
 * - Messages with the same key keep their order, through retries too.
 * - Headers: a message's headers arrive as they were published, with the CloudEvents attributes
 *   under Kafka's binding (`ce_<attribute>` and `content-type`) whatever the broker's own binding
 *   on the wire (AMQP `cloudEvents_`, NATS `ce-`, SQS structured mode): the adapter maps them both
 *   ways. A consumer of another language reads the broker's binding.
 * - Errors are HeraldErrors: HERALD_BROKER_UNAVAILABLE (retriable, an outage) when the broker
 *   cannot be reached, HERALD_MESSAGE_TOO_LARGE (not retriable) for a message over its limit,
 *   HERALD_PUBLISH_FAILED (retriable) when it refused a batch.
 */
export interface Delivery extends IncomingMessage {
  /**
   * Marks this message, and every earlier one of its partition, as handled (Kafka: commits
   * offset + 1). Callers acknowledge in order; the transport may batch acknowledgements.
   */
  ack(): Promise<void>;
}

export interface SubscribeOptions {
  group: string;
  topics: string[];
  /** Where a group with no stored position starts; default `earliest`. */
  from?: 'earliest' | 'latest';
}

/** A group's messages, in order per partition; pulling is the backpressure. */
export interface Subscription extends AsyncIterable<Delivery> {
  /** Stops fetching; acknowledgements already made are flushed first. */
  close(): Promise<void>;
  lag(): Promise<PartitionLag[]>;
  /**
   * The partitions the group gives this member now, where the broker assigns them (Kafka); absent
   * elsewhere. Empty: a standby member. For readiness (`/readyz`).
   */
  assignment?(): { topic: string; partitions: number[] }[];
}

export interface Transport {
  readonly name: string;
  /** Opens connections; may be called again after close() or a failure. */
  connect(): Promise<void>;
  /** Resolves when every message is acknowledged; rejects with a HeraldError otherwise. */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
  /** Joins a consumer group. */
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Where the broker is, for logs; never contains credentials. */
  describe(): string;
}
