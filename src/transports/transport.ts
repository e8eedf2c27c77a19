/**
 * The transport port: publish a batch and resolve only when the broker has acknowledged every
 * message. Order of messages with the same key must survive. Kafka is the first adapter; the
 * in-memory one in `herald/testing` is the second (for users' unit tests only).
 */
export interface OutgoingMessage {
  /** The event id: brokers that de-duplicate by message id use it. */
  id: string;
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

export interface Transport {
  readonly name: string;
  /** Opens connections; may be called again after close() or a failure. */
  connect(): Promise<void>;
  /** Resolves when every message is acknowledged; rejects with a HeraldError otherwise. */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
  /** Where the broker is, for logs; never contains credentials. */
  describe(): string;
}
