import type { LogRow } from '../store/sql/read-batch.ts';
import type { OutgoingMessage } from '../transports/transport.ts';
import { toBinaryHeaders } from '../wire/cloudevents.ts';

/** Where an event goes when its definition names no destination. */
export type TopicStrategy = (type: string) => string;

/** Seed 000's strategy: `<prefix>.<type>`; with no prefix, the type itself. */
export function prefixTopics(prefix?: string): TopicStrategy {
  return prefix ? (type) => `${prefix}.${type}` : (type) => type;
}

export function toMessage(row: LogRow, topicFor: TopicStrategy): OutgoingMessage {
  return {
    id: row.id,
    topic: row.destination ?? topicFor(row.type),
    key: row.partition_key,
    value: Buffer.from(row.payload),
    headers: toBinaryHeaders(
      {
        id: row.id,
        type: row.type,
        source: row.source,
        time: row.created_at,
        subject: row.subject,
        dataversion: row.version,
        partitionkey: row.partition_key,
        correlationid: row.correlation_id,
        causationid: row.causation_id,
        traceparent: row.traceparent,
        tracestate: row.tracestate,
      },
      row.headers,
    ),
  };
}
