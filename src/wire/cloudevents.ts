/**
 * CloudEvents 1.0 binary mode: attributes travel as headers, the payload is the body.
 * Kafka's protocol binding prefixes attributes with `ce_` and maps `datacontenttype` to
 * `content-type`. Extension names follow the spec's rule (lower-case letters and digits):
 * partitionkey (Partitioning extension), traceparent/tracestate (Distributed Tracing extension),
 * correlationid, causationid and dataversion (Herald's).
 */
export interface CloudEventAttributes {
  id: string;
  type: string;
  source: string;
  time: Date;
  subject: string | null;
  dataversion: number;
  partitionkey: string;
  correlationid: string | null;
  causationid: string | null;
  traceparent: string | null;
  tracestate: string | null;
}

export const specVersion = '1.0';
export const jsonContentType = 'application/json';

export function toBinaryHeaders(
  attributes: CloudEventAttributes,
  userHeaders: Record<string, string>,
  prefix = 'ce_',
): Record<string, string> {
  const headers: Record<string, string> = { ...userHeaders };
  headers[`${prefix}specversion`] = specVersion;
  headers[`${prefix}id`] = attributes.id;
  headers[`${prefix}source`] = attributes.source;
  headers[`${prefix}type`] = attributes.type;
  headers[`${prefix}time`] = attributes.time.toISOString();
  headers['content-type'] = jsonContentType;
  if (attributes.subject !== null) headers[`${prefix}subject`] = attributes.subject;
  headers[`${prefix}dataversion`] = String(attributes.dataversion);
  headers[`${prefix}partitionkey`] = attributes.partitionkey;
  if (attributes.correlationid !== null) headers[`${prefix}correlationid`] = attributes.correlationid;
  if (attributes.causationid !== null) headers[`${prefix}causationid`] = attributes.causationid;
  if (attributes.traceparent !== null) headers[`${prefix}traceparent`] = attributes.traceparent;
  if (attributes.tracestate !== null) headers[`${prefix}tracestate`] = attributes.tracestate;
  return headers;
}

/**
 * Renames CloudEvents attribute headers from one binding's prefix to another's (Kafka's `ce_`,
 * AMQP's `cloudEvents_`, NATS's `ce-`), leaving other headers as they are. Transports publish
 * with their own binding and give consumers `ce_` headers back.
 */
export function renameAttributes(headers: Record<string, string>, from: string, to: string): Record<string, string> {
  if (from === to) return { ...headers };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.startsWith(from) ? `${to}${k.slice(from.length)}` : k] = v;
  return out;
}
