import { isUtf8 } from 'node:buffer';
import { attributePrefix } from '../../wire/cloudevents.ts';
import type { OutgoingMessage } from '../transport.ts';

/**
 * A message as a Kafka record: the key and value as they are, headers (already Kafka's
 * CloudEvents binding, `ce_`) as a Map of Buffers: with the client's no-op serialisers, header
 * names must be Buffers too. The record's timestamp is the event's time (topics with
 * `message.timestamp.type=LogAppendTime` replace it with the broker's). Without a partition the
 * producer's key hash places it.
 */
export function toRecord(m: OutgoingMessage, partition?: number) {
  return {
    topic: m.topic,
    ...(partition === undefined ? {} : { partition }),
    key: Buffer.from(m.key),
    value: m.value,
    ...(m.time ? { timestamp: BigInt(m.time.getTime()) } : {}),
    headers: new Map(Object.entries(m.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
  };
}

/**
 * A record's headers as text. Bytes that are not UTF-8 become U+FFFD: harmless in the writer's
 * own headers, but not in a CloudEvents attribute (two ids that differ in such bytes would read
 * as one), so `notUtf8` names the attribute headers (and `content-type`) that are not UTF-8 and
 * the consumer dead-letters those messages (see subscribe.ts).
 */
export function fromRecordHeaders(headers: Map<Buffer, Buffer>): {
  headers: Record<string, string>;
  notUtf8: string[];
} {
  const out: Record<string, string> = {};
  const notUtf8: string[] = [];
  for (const [k, v] of headers) {
    const name = k.toString('utf8');
    out[name] = v.toString('utf8');
    if ((name.startsWith(attributePrefix) || name === 'content-type') && !isUtf8(v)) notUtf8.push(name);
  }
  return { headers: out, notUtf8 };
}

/** Approximate bytes of a record on the wire: enough to stay under the broker's limit. */
function recordBytes(m: OutgoingMessage): number {
  let bytes = 64 + Buffer.byteLength(m.key) + m.value.length;
  for (const [k, v] of Object.entries(m.headers)) bytes += 8 + k.length + Buffer.byteLength(v);
  return bytes;
}

/** Splits messages, in order, into runs of at most `maxBytes` (a single larger message alone). */
export function chunkBySize(messages: readonly OutgoingMessage[], maxBytes: number): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let size = 0;
  for (const m of messages) {
    const bytes = recordBytes(m);
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(m);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
