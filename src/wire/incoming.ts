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
const readable = [...attributeNames, 'datacontenttype'];

/** Header name to attribute name (`ce_id` to `id`), made once per prefix: no slicing per header. */
const byPrefix = new Map<string, Map<string, string>>();
function attributesOf(prefix: string): Map<string, string> {
  let names = byPrefix.get(prefix);
  if (names === undefined) {
    names = new Map(readable.map((n) => [prefix + n, n]));
    byPrefix.set(prefix, names);
  }
  return names;
}

/** A CloudEvents attribute as text: null when absent (malformed if `required`), malformed when not a non-empty string. */
function attribute(m: IncomingMessage, attrs: Record<string, unknown>, name: string, required: boolean): string | null {
  const v = attrs[name];
  if (v === undefined || v === null) {
    if (required) throw malformed(m, `the CloudEvents attribute "${name}" is missing`);
    return null;
  }
  if (typeof v !== 'string') throw malformed(m, `the CloudEvents attribute "${name}" is a ${typeof v}, not a string`);
  if (v.length === 0) throw malformed(m, `the CloudEvents attribute "${name}" is empty`);
  return v;
}

/** A `dataversion`: digits only (Number() would also take "0x2", " 2", "2.0" and "2e0" for 2). */
function versionOf(m: IncomingMessage, text: string): number {
  if (text === '1') return 1;
  const version = /^[1-9][0-9]{0,8}$/.test(text) ? Number(text) : Number.NaN;
  if (Number.isNaN(version)) throw malformed(m, `dataversion ${JSON.stringify(text)} is not a positive integer`);
  return version;
}

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
    const envelope = parseJson(m, m.value.toString());
    if (typeof envelope !== 'object' || envelope === null) throw malformed(m, 'the CloudEvent is not a JSON object');
    attrs = envelope as Record<string, unknown>;
    payload = attrs.data;
    for (const [k, v] of Object.entries(m.headers)) if (k !== 'content-type') headers[k] = v;
  } else {
    attrs = {};
    const names = attributesOf(prefix);
    for (const k of Object.keys(m.headers)) {
      const v = m.headers[k] as string;
      const name = names.get(k);
      if (name !== undefined) attrs[name] = v;
      else if (k !== 'content-type') headers[k] = v;
    }
    if (attrs.specversion === undefined) throw malformed(m, `no ${prefix}specversion header: not a CloudEvent`);
    if (contentType !== '' && !contentType.startsWith(jsonContentType) && !contentType.includes('+json')) {
      throw malformed(m, `content-type ${JSON.stringify(contentType)} is not JSON`);
    }
    payload = parseJson(m, m.value.toString());
  }
  if (attribute(m, attrs, 'specversion', true) !== specVersion)
    throw malformed(m, `specversion ${String(attrs.specversion)} is not 1.0`);
  const id = attribute(m, attrs, 'id', true) as string;
  const type = attribute(m, attrs, 'type', true) as string;
  const source = attribute(m, attrs, 'source', true) as string;
  const timeText = attribute(m, attrs, 'time', false);
  const time = timeText === null ? null : new Date(timeText);
  if (time !== null && Number.isNaN(time.getTime()))
    throw malformed(m, `time ${JSON.stringify(timeText)} is not a time`);
  const version = versionOf(m, attribute(m, attrs, 'dataversion', false) ?? '1');
  const tags = attribute(m, attrs, 'tags', false);
  return {
    id,
    type,
    version,
    writtenVersion: version,
    source,
    subject: attribute(m, attrs, 'subject', false),
    key: attribute(m, attrs, 'partitionkey', false) ?? m.key ?? id,
    time,
    correlationId: attribute(m, attrs, 'correlationid', false),
    causationId: attribute(m, attrs, 'causationid', false),
    userId: attribute(m, attrs, 'userid', false),
    sessionId: attribute(m, attrs, 'sessionid', false),
    tags: tags === null ? [] : tags.split(',').filter((t) => t.length > 0),
    traceparent: attribute(m, attrs, 'traceparent', false),
    tracestate: attribute(m, attrs, 'tracestate', false),
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
