import { isUtf8 } from 'node:buffer';
import { attributePrefix } from '../../wire/cloudevents.ts';
import type { OutgoingMessage } from '../transport.ts';

/** A record as the producer takes it: key, value and headers already bytes. */
export interface KafkaRecord {
  topic: string;
  partition?: number;
  key: Buffer;
  value: Buffer;
  timestamp?: bigint;
  headers: Map<Buffer, Buffer>;
}

// Header names as bytes, made once: every record carries the same few (ce_id, ce_type, ...), and a
// Buffer per name per record was a fifth of the transport's own work in a drain's profile.
const nameBytes = new Map<string, Buffer>();
const maxNames = 1024;
function headerName(name: string): Buffer {
  let bytes = nameBytes.get(name);
  if (bytes === undefined) {
    bytes = Buffer.from(name);
    if (nameBytes.size < maxNames) nameBytes.set(name, bytes);
  }
  return bytes;
}

/**
 * A message as a Kafka record: the key and value as they are, headers (already Kafka's
 * CloudEvents binding, `ce_`) as a Map of Buffers: with the client's no-op serialisers, header
 * names must be Buffers too. The record's timestamp is the event's time (topics with
 * `message.timestamp.type=LogAppendTime` replace it with the broker's). Without a partition the
 * producer's key hash places it.
 */
export function toRecord(m: OutgoingMessage, partition?: number): KafkaRecord {
  const headers = new Map<Buffer, Buffer>();
  for (const name in m.headers) headers.set(headerName(name), Buffer.from(m.headers[name] as string));
  return {
    topic: m.topic,
    ...(partition === undefined ? {} : { partition }),
    key: Buffer.from(m.key),
    value: m.value,
    ...(m.time ? { timestamp: BigInt(m.time.getTime()) } : {}),
    headers,
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
    // toString() without an argument is node's fast path to UTF-8.
    const name = k.toString();
    const value = v.toString();
    out[name] = value;
    // Bytes that are not UTF-8 always decode with a U+FFFD: only then are they checked.
    if (value.includes('\uFFFD') && (name.startsWith(attributePrefix) || name === 'content-type') && !isUtf8(v))
      notUtf8.push(name);
  }
  return { headers: out, notUtf8 };
}

/** Bytes of a record on the wire, within a few: enough to stay under the broker's limit. */
function recordBytes(r: KafkaRecord): number {
  let bytes = 64 + r.key.length + r.value.length;
  for (const [k, v] of r.headers) bytes += 8 + k.length + v.length;
  return bytes;
}

/** Splits records, in order, into runs of at most `maxBytes` (a single larger record alone). */
export function chunkBySize(records: readonly KafkaRecord[], maxBytes: number): KafkaRecord[][] {
  const chunks: KafkaRecord[][] = [];
  let current: KafkaRecord[] = [];
  let size = 0;
  for (const r of records) {
    const bytes = recordBytes(r);
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(r);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
