/**
 * CloudEvents 1.0 binary mode: attributes travel as headers, the payload is the body.
 * Kafka's protocol binding prefixes attributes with `ce_` and maps `datacontenttype` to
 * `content-type`. Extension names follow the spec's rule (lower-case letters and digits):
 * partitionkey (Partitioning extension), traceparent/tracestate (Distributed Tracing extension),
 * correlationid, causationid, dataversion, userid, sessionid and tags (Herald's; tags
 * comma-separated).
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
  userid?: string | null;
  sessionid?: string | null;
  tags?: string | null;
  traceparent: string | null;
  tracestate: string | null;
}

/**
 * The attributes Herald writes, in the order it writes them, and reads back: the one list
 * (`specversion` first, then the event's own).
 */
export const attributeNames = [
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'dataversion',
  'partitionkey',
  'correlationid',
  'causationid',
  'userid',
  'sessionid',
  'tags',
  'traceparent',
  'tracestate',
] as const satisfies readonly ('specversion' | keyof CloudEventAttributes)[];

export const specVersion = '1.0';
export const jsonContentType = 'application/json';
/** Kafka's binding prefix, which Herald uses inside the process whatever the broker. */
export const attributePrefix = 'ce_';

/** The attribute as header text; null leaves the header out. */
function headerText(attributes: CloudEventAttributes, name: (typeof attributeNames)[number]): string | null {
  if (name === 'specversion') return specVersion;
  const value = attributes[name];
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : String(value);
}

/** The attributes' header names with a binding's prefix, made once per prefix. */
const prefixedNames = new Map<string, readonly string[]>();
function namesWith(prefix: string): readonly string[] {
  let names = prefixedNames.get(prefix);
  if (names === undefined) {
    names = attributeNames.map((name) => `${prefix}${name}`);
    prefixedNames.set(prefix, names);
  }
  return names;
}

export function toBinaryHeaders(
  attributes: CloudEventAttributes,
  userHeaders: Record<string, string>,
  prefix = attributePrefix,
): Record<string, string> {
  const headers: Record<string, string> = { ...userHeaders };
  const names = namesWith(prefix);
  for (let i = 0; i < attributeNames.length; i++) {
    const value = headerText(attributes, attributeNames[i] as (typeof attributeNames)[number]);
    if (value !== null) headers[names[i] as string] = value;
  }
  headers['content-type'] = jsonContentType;
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
