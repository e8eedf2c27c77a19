import type { OutgoingMessage } from '../transport.ts';
import { hashedGroupPrefix } from './names.ts';

/**
 * CloudEvents 1.0 in structured mode on SQS: the body is the JSON envelope (attributes and `data`),
 * and the message attribute `content-type` says `application/cloudevents+json`. SQS allows 10
 * message attributes per message, fewer than the attributes of an event, so the attributes go in
 * the body; the message attributes carry the headers that are not CloudEvents attributes (yours,
 * and a dead letter's `herald_*`). When they do not fit in the 9 attributes left, or a name is not
 * one SQS takes, the rest travel as JSON in one attribute, `herald-headers`.
 */
const structuredContentType = 'application/cloudevents+json';
const overflowAttribute = 'herald-headers';
const maxAttributes = 10;
const attributePrefix = 'ce_';

/** SQS message attribute names: up to 256 of A-Z a-z 0-9 _ - ., no `AWS.`/`Amazon.`, no `..`. */
const attributeName = /^[A-Za-z0-9_-](?:[A-Za-z0-9_.-]{0,254}[A-Za-z0-9_-])?$/;
const reservedAttribute = /^(aws|amazon)\.|\.\./i;
/** Characters SQS accepts in a body or an attribute value (XML 1.0's). */
const sqsText = /^(?:[\t\n\r\u0020-\uD7FF\uE000-\uFFFD]|[\uD800-\uDBFF][\uDC00-\uDFFF])+$/;
/** Lower-case letters and digits: a CloudEvents attribute name. */
const ceName = /^[a-z0-9]+$/;
const first = ['specversion', 'id', 'source', 'type'];

/** JSON escapes for the two characters JSON leaves as they are and SQS refuses. */
const escapeNonCharacters = (json: string) =>
  json.replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

const isJson = (contentType: string) => /^application\/json|^text\/json|\+json(;|$)/i.test(contentType);

export interface WireMessage {
  body: string;
  attributes: Record<string, string>;
  /** What SQS counts against its size limit: the body, and each attribute's name, type and value. */
  bytes: number;
}

/** Builds the structured envelope from the relay's binary-mode `ce_` headers. */
function envelope(m: OutgoingMessage, contentType: string, userHeaders: [string, string][]): string {
  const attributes = new Map<string, string>();
  for (const name of first) {
    const value = m.headers[`${attributePrefix}${name}`];
    if (value !== undefined) attributes.set(name, value);
  }
  for (const [header, value] of Object.entries(m.headers)) {
    if (header === 'content-type') continue;
    const name = header.startsWith(attributePrefix) ? header.slice(attributePrefix.length) : '';
    if (name && ceName.test(name) && name !== 'data' && name !== 'datacontenttype') {
      if (!attributes.has(name)) attributes.set(name, value);
    } else userHeaders.push([header, value]);
  }
  attributes.set('datacontenttype', contentType);
  const members = [...attributes].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  if (isJson(contentType)) {
    const data = m.value.toString('utf8');
    if (data.trim() !== '') members.push(`"data":${data}`);
  } else if (m.value.length > 0) {
    members.push(`"data_base64":${JSON.stringify(m.value.toString('base64'))}`);
  }
  return `{${members.join(',')}}`;
}

/** The SQS body and message attributes of a message (see the module comment). */
export function toWire(m: OutgoingMessage): WireMessage {
  const contentType = m.headers['content-type'] ?? 'application/json';
  const userHeaders: [string, string][] = [];
  let body: string;
  if (contentType.toLowerCase().startsWith(structuredContentType)) {
    // Already an envelope (a dead letter of a message consumed from SQS): sent as it is.
    body = m.value.toString('utf8');
    for (const [k, v] of Object.entries(m.headers)) if (k !== 'content-type') userHeaders.push([k, v]);
  } else {
    body = envelope(m, contentType, userHeaders);
  }
  const attributes: Record<string, string> = { 'content-type': structuredContentType };
  const direct = (name: string, value: string) =>
    name !== overflowAttribute &&
    name !== 'content-type' &&
    attributeName.test(name) &&
    !reservedAttribute.test(name) &&
    sqsText.test(value);
  const fits = userHeaders.length < maxAttributes && userHeaders.every(([k, v]) => direct(k, v));
  const overflow: Record<string, string> = {};
  let room = fits ? maxAttributes - 1 : maxAttributes - 2;
  for (const [k, v] of userHeaders) {
    if (room > 0 && direct(k, v)) {
      attributes[k] = v;
      room--;
    } else overflow[k] = v;
  }
  if (!fits) attributes[overflowAttribute] = escapeNonCharacters(JSON.stringify(overflow));
  body = escapeNonCharacters(body);
  let bytes = Buffer.byteLength(body);
  for (const [k, v] of Object.entries(attributes))
    bytes += Buffer.byteLength(k) + 'String'.length + Buffer.byteLength(v);
  return { body, attributes, bytes };
}

interface ReceivedAttribute {
  StringValue?: string | undefined;
  BinaryValue?: Uint8Array | undefined;
}

/** A received message's headers: its message attributes, with `herald-headers` unpacked. */
export function headersOf(attributes: Record<string, ReceivedAttribute> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  let overflow: string | undefined;
  for (const [k, a] of Object.entries(attributes ?? {})) {
    const value = a.StringValue ?? (a.BinaryValue ? Buffer.from(a.BinaryValue).toString('base64') : '');
    if (k === overflowAttribute) overflow = value;
    else headers[k] = value;
  }
  if (overflow !== undefined) {
    try {
      const parsed = JSON.parse(overflow) as unknown;
      if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
      for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string' && !(k in headers)) headers[k] = v;
    } catch {
      headers[overflowAttribute] = overflow; // not ours: left for the handler to see
    }
  }
  return headers;
}

/** The partition key of a received message: its MessageGroupId, or the envelope's when hashed. */
export function keyOf(groupId: string | undefined, body: string): string | null {
  if (groupId === undefined) return null;
  if (!groupId.startsWith(hashedGroupPrefix)) return groupId;
  try {
    const key = (JSON.parse(body) as { partitionkey?: unknown }).partitionkey;
    return typeof key === 'string' ? key : groupId;
  } catch {
    return groupId;
  }
}

/**
 * Splits messages, in order, into SendMessageBatch calls of at most `maxEntries` entries and
 * `maxBytes` in all, sent one after the other. A batch holds at most one message per message group,
 * and each message goes in a later batch than the one before it of its group: when one entry of a
 * batch fails, the batches after it are not sent, so no later message of a group can be on the
 * queue before an earlier one that failed (a retry then sends what is missing; SQS drops the rest
 * as duplicates).
 */
export function packBatches<T extends { groupId: string; wire: WireMessage }>(
  messages: readonly T[],
  maxEntries: number,
  maxBytes: number,
): T[][] {
  const batches: { entries: T[]; bytes: number }[] = [];
  const lastOf = new Map<string, number>();
  let open = 0; // batches before this one are full
  for (const m of messages) {
    // After the last batch with a message of its group: none of the batches from there holds one.
    let i = Math.max(open, (lastOf.get(m.groupId) ?? -1) + 1);
    for (; i < batches.length; i++) {
      const b = batches[i] as (typeof batches)[number];
      if (b.entries.length < maxEntries && b.bytes + m.wire.bytes <= maxBytes) break;
    }
    if (i === batches.length) batches.push({ entries: [], bytes: 0 });
    const b = batches[i] as (typeof batches)[number];
    b.entries.push(m);
    b.bytes += m.wire.bytes;
    lastOf.set(m.groupId, i);
    while (open < batches.length && (batches[open] as (typeof batches)[number]).entries.length >= maxEntries) open++;
  }
  return batches.map((b) => b.entries);
}
