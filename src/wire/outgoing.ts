import { toBinaryHeaders } from './cloudevents.ts';
import type { OutgoingMessage } from './message.ts';
import type { TopicStrategy } from './topics.ts';

/** An event as the log stores it (a row of `log`, `dead_letters` or a replayed slice). */
export interface StoredEvent {
  id: string;
  type: string;
  version: number;
  source: string;
  subject: string | null;
  partition_key: string;
  destination: string | null;
  /** The payload's JSON text, passed through as the body. */
  payload: string;
  headers: Record<string, string>;
  correlation_id: string | null;
  causation_id: string | null;
  /** Migration 0009; absent in rows read by code that does not select them. */
  user_id?: string | null;
  session_id?: string | null;
  tags?: string[] | null;
  traceparent: string | null;
  tracestate: string | null;
  created_at: Date;
}

/** The message the relay (and replay, and a dead letter's retry) publishes for a stored event. */
export function toMessage(row: StoredEvent, topicFor: TopicStrategy): OutgoingMessage {
  return {
    id: row.id,
    topic: row.destination ?? topicFor(row.type),
    key: row.partition_key,
    value: Buffer.from(row.payload),
    time: row.created_at,
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
        userid: row.user_id ?? null,
        sessionid: row.session_id ?? null,
        tags: row.tags && row.tags.length > 0 ? row.tags.join(',') : null,
        traceparent: row.traceparent,
        tracestate: row.tracestate,
      },
      row.headers,
    ),
  };
}
