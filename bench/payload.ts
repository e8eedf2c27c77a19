import { randomBytes } from 'node:crypto';
import type { StoredEvent } from '../src/wire/outgoing.ts';

/**
 * The payload both systems publish: about 1 KB of JSON, keyed by one of `keys` distinct keys;
 * flat (one string field, which JSON reads and writes cheaply) or structured (a list of small
 * objects, as an order's lines are: what a reader that parses the payload pays for).
 */
export interface BenchPayload {
  key: string;
  n: number;
  data?: string;
  items?: { id: number; name: string; price: number }[];
}

export type PayloadShape = 'flat' | 'structured';
export const payloadShapes: readonly PayloadShape[] = ['flat', 'structured'];

export const payloadBytes = 1024;
export const distinctKeys = 1000;

/**
 * Payload number `n`: key `k-<n mod keys>`, and random base64 filler so the JSON text is
 * `payloadBytes` long (the filler does not compress to nothing, as a repeated character would).
 */
export function makePayload(n: number, keys = distinctKeys, shape: PayloadShape = 'flat'): BenchPayload {
  const key = `k-${n % keys}`;
  if (shape === 'structured') {
    const items: NonNullable<BenchPayload['items']> = [];
    const payload = { key, n, items };
    // Items until the JSON text is about payloadBytes long.
    for (let size = JSON.stringify(payload).length, i = 0; size < payloadBytes - 40; i++) {
      const item = { id: i, name: `item-${n}-${i}`, price: ((n + i) % 1000) * 1.25 };
      items.push(item);
      size += JSON.stringify(item).length + 1;
    }
    return payload;
  }
  const skeleton = JSON.stringify({ key, n, data: '' }).length;
  const fill = Math.max(0, payloadBytes - skeleton);
  const data = randomBytes(Math.ceil((fill * 3) / 4) + 3)
    .toString('base64')
    .slice(0, fill);
  return { key, n, data };
}

/** Payload number `n` as a row of the log holds it, for benches that publish without a database. */
export function storedEvent(n: number, fields: Partial<StoredEvent> = {}): StoredEvent {
  const p = makePayload(n);
  return {
    id: `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`,
    type: 'bench.order.placed',
    version: 1,
    source: '/herald-bench',
    subject: null,
    partition_key: p.key,
    destination: null,
    payload: JSON.stringify(p),
    headers: {},
    correlation_id: null,
    causation_id: null,
    traceparent: null,
    tracestate: null,
    created_at: new Date(),
    ...fields,
  };
}
