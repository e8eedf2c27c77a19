/**
 * The transport port: publish a batch and resolve only when the broker has acknowledged every
 * message; subscribe a consumer group and acknowledge what it has handled. Order of messages
 * with the same key must survive. Kafka is the first adapter; the in-memory one in
 * `herald/testing` is the second (for users' unit tests only).
 */
export interface OutgoingMessage {
  /** The event id: brokers that de-duplicate by message id use it. */
  id: string;
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/** A message as a consumer receives it. */
export interface IncomingMessage {
  topic: string;
  /** The ordered stream within the topic (a Kafka partition). Acknowledgements are per partition. */
  partition: number;
  /** Position within the partition (a Kafka offset), as a decimal string. */
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

export interface Delivery extends IncomingMessage {
  /**
   * Marks this message, and every earlier one of its partition, as handled (Kafka: commits
   * offset + 1). Callers acknowledge in order; the transport may batch acknowledgements.
   */
  ack(): Promise<void>;
}

/** A consumer group's name: 1-200 of A-Z a-z 0-9 . _ - (the consumer and the transports check it). */
export const groupPattern = /^[A-Za-z0-9._-]{1,200}$/;

export interface SubscribeOptions {
  group: string;
  topics: string[];
  /** Where a group with no stored position starts; default `earliest`. */
  from?: 'earliest' | 'latest';
}

/** Messages not yet handled by the group, per partition of its topics. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** The group's stored position, or null when it has none. */
  committed: string | null;
  /** The position after the last message in the partition. */
  end: string;
  lag: number;
}

/** A group's messages, in order per partition; pulling is the backpressure. */
export interface Subscription extends AsyncIterable<Delivery> {
  /** Stops fetching; acknowledgements already made are flushed first. */
  close(): Promise<void>;
  lag(): Promise<PartitionLag[]>;
}

export interface Transport {
  readonly name: string;
  /** Opens connections; may be called again after close() or a failure. */
  connect(): Promise<void>;
  /** Resolves when every message is acknowledged; rejects with a HeraldError otherwise. */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
  /** Joins a consumer group; transports that cannot consume leave it out. */
  subscribe?(options: SubscribeOptions): Promise<Subscription>;
  /** Where the broker is, for logs; never contains credentials. */
  describe(): string;
}
