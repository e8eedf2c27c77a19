import { HeraldError } from '../errors.ts';
import { isUuid } from '../events/uuidv7.ts';
import { attributeNames, attributePrefix, jsonContentType, specVersion } from './cloudevents.ts';
import type { IncomingMessage } from './message.ts';

/** An event as a handler receives it: the CloudEvents attributes, and the payload validated. */
export interface ConsumedEvent<P = unknown> {
  id: string;
  type: string;
  /** The version of `payload`: the handler's, after any upcasting. */
  version: number;
  /** The version the event was written with. */
  writtenVersion: number;
  source: string;
  subject: string | null;
  /** The partition key: events with one key are handled in order. */
  key: string;
  time: Date | null;
  correlationId: string | null;
  causationId: string | null;
  /** The user and session the event names (CloudEvents extensions `userid`, `sessionid`). */
  userId: string | null;
  sessionId: string | null;
  /** Its tags (extension `tags`); empty when none. */
  tags: string[];
  traceparent: string | null;
  tracestate: string | null;
  /** Headers that are not CloudEvents attributes: the writer's own. */
  headers: Record<string, string>;
  payload: P;
}

const malformed = (m: IncomingMessage, reason: string) =>
  new HeraldError('HERALD_MALFORMED_MESSAGE', `${m.topic}[${m.partition}]@${m.offset}: ${reason}`, {
    details: { topic: m.topic, partition: m.partition, offset: m.offset },
  });

function parseJson(m: IncomingMessage, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw malformed(m, `the body is not JSON (${(error as Error).message})`);
  }
}

/** The attributes read from headers: the ones Herald writes, and `datacontenttype` (structured mode). */
const readable = new Set<string>([...attributeNames, 'datacontenttype']);

/**
 * Reads a CloudEvents 1.0 message in binary mode (attributes in `ce_` headers, the payload as the
 * body), as Herald's relay writes it, or in structured mode (`application/cloudevents+json`).
 * Anything else is HERALD_MALFORMED_MESSAGE, which the consumer dead-letters with the reason.
 */
export function decodeMessage(m: IncomingMessage, prefix = attributePrefix): ConsumedEvent {
  if (m.undecodable) throw m.undecodable;
  const contentType = (m.headers['content-type'] ?? '').toLowerCase();
  let attrs: Record<string, unknown>;
  let payload: unknown;
  const headers: Record<string, string> = {};
  if (contentType.startsWith('application/cloudevents+json')) {
    const envelope = parseJson(m, m.value.toString('utf8'));
    if (typeof envelope !== 'object' || envelope === null) throw malformed(m, 'the CloudEvent is not a JSON object');
    attrs = envelope as Record<string, unknown>;
    payload = attrs.data;
    for (const [k, v] of Object.entries(m.headers)) if (k !== 'content-type') headers[k] = v;
  } else {
    attrs = {};
    for (const [k, v] of Object.entries(m.headers)) {
      if (k.startsWith(prefix) && readable.has(k.slice(prefix.length))) attrs[k.slice(prefix.length)] = v;
      else if (k !== 'content-type') headers[k] = v;
    }
    if (attrs.specversion === undefined) throw malformed(m, `no ${prefix}specversion header: not a CloudEvent`);
    if (contentType !== '' && !contentType.startsWith(jsonContentType) && !contentType.includes('+json')) {
      throw malformed(m, `content-type ${JSON.stringify(contentType)} is not JSON`);
    }
    payload = parseJson(m, m.value.toString('utf8'));
  }
  const text = (name: string, required: boolean): string | null => {
    const v = attrs[name];
    if (v === undefined || v === null) {
      if (required) throw malformed(m, `the CloudEvents attribute "${name}" is missing`);
      return null;
    }
    if (typeof v !== 'string') throw malformed(m, `the CloudEvents attribute "${name}" is a ${typeof v}, not a string`);
    if (v.length === 0) throw malformed(m, `the CloudEvents attribute "${name}" is empty`);
    return v;
  };
  if (text('specversion', true) !== specVersion)
    throw malformed(m, `specversion ${String(attrs.specversion)} is not 1.0`);
  const id = text('id', true) as string;
  const type = text('type', true) as string;
  const source = text('source', true) as string;
  const timeText = text('time', false);
  const time = timeText === null ? null : new Date(timeText);
  if (time !== null && Number.isNaN(time.getTime()))
    throw malformed(m, `time ${JSON.stringify(timeText)} is not a time`);
  const versionText = text('dataversion', false) ?? '1';
  // Digits only: Number() would also take "0x2", " 2", "2.0" and "2e0" for version 2.
  const version = /^[1-9][0-9]{0,8}$/.test(versionText) ? Number(versionText) : Number.NaN;
  if (Number.isNaN(version)) throw malformed(m, `dataversion ${JSON.stringify(versionText)} is not a positive integer`);
  return {
    id,
    type,
    version,
    writtenVersion: version,
    source,
    subject: text('subject', false),
    key: text('partitionkey', false) ?? m.key ?? id,
    time,
    correlationId: text('correlationid', false),
    causationId: text('causationid', false),
    userId: text('userid', false),
    sessionId: text('sessionid', false),
    tags: (text('tags', false) ?? '').split(',').filter((t) => t.length > 0),
    traceparent: text('traceparent', false),
    tracestate: text('tracestate', false),
    headers,
    payload,
  };
}

/**
 * The time the inbox partitions an event by: its CloudEvents `time`, else the time in a UUIDv7
 * id, else the epoch (such events are kept in the inbox's default partition).
 */
export function eventTime(event: ConsumedEvent): Date {
  if (event.time) return event.time;
  if (isUuid(event.id) && event.id[14] === '7')
    return new Date(Number.parseInt(event.id.replaceAll('-', '').slice(0, 12), 16));
  return new Date(0);
}
