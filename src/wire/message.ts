/**
 * What travels through a broker, in the shape every transport takes and gives back. Headers use
 * Kafka's CloudEvents binding whatever the broker (`ce_id`, `ce_type`, … and `content-type`):
 * a transport renames them to its own protocol binding on the way out (AMQP `cloudEvents_`, NATS
 * `ce-`, SQS structured mode) and back to `ce_` on the way in, so a consumer reads the same
 * headers from every broker. See wire/cloudevents.ts for the attributes.
 */
export interface OutgoingMessage {
  /** The event id: brokers that de-duplicate by message id use it. */
  id: string;
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  /** The event's time: Kafka's record timestamp (seed 000), where a broker keeps one. */
  time?: Date;
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
  /** `ce_` attribute headers, `content-type`, and any other header as it arrived. */
  headers: Record<string, string>;
  /**
   * Set by a wire format that could not read the message (wire/format.ts): the reason the
   * consumer dead-letters it with.
   */
  undecodable?: Error;
}
