import { HeraldError } from '../errors.ts';
import { attributeNames, attributePrefix, jsonContentType, specVersion } from './cloudevents.ts';
import type { WireFormat } from './format.ts';
import type { IncomingMessage, OutgoingMessage } from './message.ts';

/**
 * Envelope formats: how an event's attributes and payload are laid out in a message. Herald's
 * default is CloudEvents binary mode (attributes in headers, the payload as the body), which
 * needs no format. These two change it, for every transport, through `withFormat`:
 * - `cloudEventsStructured()`: one JSON document, `application/cloudevents+json`, the attributes
 *   beside `data` (CloudEvents' structured mode), for consumers that read bodies only;
 * - `envelopeMapper({ encode, decode })`: your own JSON envelope, for a team moving from an
 *   outbox whose consumers expect it (seed 000's `{event_id, event_type, …, payload}`).
 * A Herald consumer reads both back (and binary mode beside them).
 */

/** An event as an envelope mapper sees it: CloudEvents attributes under their names in Herald. */
export interface EnvelopeEvent {
  id: string;
  type: string;
  version: number;
  source: string;
  time: Date | null;
  /** `aggregateType/aggregateId` when the event names its aggregate. */
  subject: string | null;
  /** The aggregate, read from the subject (`type/id`); null when it names none. */
  aggregate: { type: string; id: string } | null;
  key: string;
  correlationId: string | null;
  causationId: string | null;
  userId: string | null;
  sessionId: string | null;
  tags: string[];
  traceparent: string | null;
  tracestate: string | null;
  /** The writer's own headers (not attributes). */
  headers: Record<string, string>;
  /** The payload (parsed JSON). */
  payload: unknown;
}

/** What a mapper's `decode` returns: the event; what it leaves out takes Herald's defaults. */
export type DecodedEnvelope = Pick<EnvelopeEvent, 'id' | 'type' | 'payload'> &
  Partial<Omit<EnvelopeEvent, 'id' | 'type' | 'payload'>>;

export interface EnvelopeMapperOptions {
  /** A name for logs; default `envelope`. */
  name?: string;
  /** The JSON value the body holds for an event. */
  encode(event: EnvelopeEvent): unknown;
  /** The event a body holds (parsed JSON), and the message's headers; throw when it holds none. */
  decode(body: unknown, headers: Record<string, string>): DecodedEnvelope;
  /** Only messages to these destinations are mapped; default every destination. */
  destinations?: readonly string[];
}

const structuredContentType = 'application/cloudevents+json';

/** The CloudEvents attributes in a binary-mode message's headers, and its other headers. */
function split(m: OutgoingMessage) {
  const attributes: Record<string, string> = {};
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers)) {
    if (k.startsWith(attributePrefix)) attributes[k.slice(attributePrefix.length)] = v;
    else if (k !== 'content-type') headers[k] = v;
  }
  return { attributes, headers };
}

const unencodable = (m: OutgoingMessage, reason: string, cause?: unknown) =>
  new HeraldError('HERALD_UNENCODABLE_EVENT', `event ${m.id}: ${reason}`, {
    details: { id: m.id },
    ...(cause === undefined ? {} : { cause }),
  });

function jsonBody(m: OutgoingMessage): unknown {
  const contentType = (m.headers['content-type'] ?? jsonContentType).toLowerCase();
  if (!contentType.startsWith(jsonContentType)) throw unencodable(m, `a ${contentType} body is not JSON`);
  try {
    return JSON.parse(m.value.toString('utf8'));
  } catch (error) {
    throw unencodable(m, 'the payload is not JSON', error);
  }
}

/** CloudEvents structured mode: the attributes and `data` in one JSON body. */
export function cloudEventsStructured(): WireFormat {
  return {
    name: 'cloudevents-structured',
    encode(m) {
      const { attributes, headers } = split(m);
      if (attributes.specversion === undefined) return m;
      const document: Record<string, unknown> = { ...attributes, datacontenttype: jsonContentType, data: jsonBody(m) };
      return {
        ...m,
        headers: { ...headers, 'content-type': structuredContentType },
        value: Buffer.from(JSON.stringify(document)),
      };
    },
    // The consumer reads structured mode as it is (wire/incoming.ts).
    decode: (m) => m,
  };
}

/** A user-supplied envelope, both ways. */
export function envelopeMapper(options: EnvelopeMapperOptions): WireFormat {
  if (typeof options?.encode !== 'function' || typeof options.decode !== 'function')
    throw new HeraldError('HERALD_INVALID_CONFIG', 'envelopeMapper: encode and decode must be functions', {
      details: { setting: 'envelopeMapper' },
    });
  const destinations = options.destinations ? new Set(options.destinations) : null;
  const name = options.name ?? 'envelope';

  const undecodable = (m: IncomingMessage, reason: string, cause?: unknown) =>
    new HeraldError('HERALD_UNDECODABLE_MESSAGE', `${m.topic}[${m.partition}]@${m.offset}: ${reason}`, {
      details: { topic: m.topic, partition: m.partition, offset: m.offset },
      ...(cause === undefined ? {} : { cause }),
    });

  return {
    name,
    encode(m) {
      if (destinations && !destinations.has(m.topic)) return m;
      const { attributes: a, headers } = split(m);
      if (a.specversion === undefined) return m;
      const subject = a.subject ?? null;
      const slash = subject?.indexOf('/') ?? -1;
      const event: EnvelopeEvent = {
        id: a.id ?? m.id,
        type: a.type ?? '',
        version: Number(a.dataversion ?? '1'),
        source: a.source ?? '',
        time: a.time ? new Date(a.time) : null,
        subject,
        aggregate: subject && slash > 0 ? { type: subject.slice(0, slash), id: subject.slice(slash + 1) } : null,
        key: a.partitionkey ?? m.key,
        correlationId: a.correlationid ?? null,
        causationId: a.causationid ?? null,
        userId: a.userid ?? null,
        sessionId: a.sessionid ?? null,
        tags: (a.tags ?? '').split(',').filter((t) => t.length > 0),
        traceparent: a.traceparent ?? null,
        tracestate: a.tracestate ?? null,
        headers,
        payload: jsonBody(m),
      };
      let body: unknown;
      try {
        body = options.encode(event);
      } catch (error) {
        throw unencodable(m, `the envelope mapper failed: ${(error as Error).message}`, error);
      }
      return {
        ...m,
        headers: { ...headers, 'content-type': jsonContentType },
        value: Buffer.from(JSON.stringify(body)),
      };
    },

    decode(m) {
      const contentType = (m.headers['content-type'] ?? '').toLowerCase();
      // CloudEvents, binary or structured, are not this envelope: passed on.
      if (m.headers[`${attributePrefix}specversion`] !== undefined || contentType.startsWith(structuredContentType))
        return m;
      let body: unknown;
      try {
        body = JSON.parse(m.value.toString('utf8'));
      } catch (error) {
        throw undecodable(m, `the ${name} body is not JSON`, error);
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.headers)) if (k !== 'content-type') headers[k] = v;
      let e: DecodedEnvelope;
      try {
        e = options.decode(body, headers);
      } catch (error) {
        throw undecodable(m, `the ${name} mapper refused it: ${(error as Error).message}`, error);
      }
      if (typeof e?.id !== 'string' || e.id === '' || typeof e.type !== 'string' || e.type === '')
        throw undecodable(m, `the ${name} mapper gave no id or type`);
      const time = e.time instanceof Date && !Number.isNaN(e.time.getTime()) ? e.time.toISOString() : null;
      const subject = e.subject ?? (e.aggregate ? `${e.aggregate.type}/${e.aggregate.id}` : null);
      const attributes: Record<string, string | number | null> = {
        specversion: specVersion,
        id: e.id,
        source: e.source ?? `/${name}`,
        type: e.type,
        time,
        subject,
        dataversion: e.version ?? 1,
        partitionkey: e.key ?? m.key,
        correlationid: e.correlationId ?? null,
        causationid: e.causationId ?? null,
        userid: e.userId ?? null,
        sessionid: e.sessionId ?? null,
        tags: e.tags && e.tags.length > 0 ? e.tags.join(',') : null,
        traceparent: e.traceparent ?? null,
        tracestate: e.tracestate ?? null,
      };
      const out: Record<string, string> = { ...(e.headers ?? headers) };
      for (const attribute of attributeNames) {
        const v = attributes[attribute];
        if (v !== null && v !== undefined) out[`${attributePrefix}${attribute}`] = String(v);
      }
      out['content-type'] = jsonContentType;
      return { ...m, headers: out, value: Buffer.from(JSON.stringify(e.payload ?? null)) };
    },
  };
}
