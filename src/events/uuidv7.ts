import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let counter = 0;

// Random bits come from a pool filled 256 ids at a time, as node:crypto's randomUUID does: one
// call into the CSPRNG per id cost more than the rest of outbox.add's own work (a CPU profile of
// `npm run bench -- write`).
const randomPerId = 8;
const pool = Buffer.alloc(randomPerId * 256);
let poolOffset = pool.length;
const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter that keeps ids made in
 * the same millisecond by this process in order (method 1 of §6.2), then 62 random bits.
 */
export function uuidv7(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = 0;
  } else if (++counter > 0xfff) {
    // 4096 ids in one millisecond: borrow the next millisecond rather than lose monotonicity.
    lastMs += 1;
    counter = 0;
  }
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += randomPerId;
  const ms = lastMs;
  const h = (byte: number) => hex[byte & 0xff] as string;
  const at = (i: number) => h(pool[r + i] as number);
  return (
    h(Math.floor(ms / 2 ** 40)) +
    h(Math.floor(ms / 2 ** 32)) +
    h(ms >>> 24) +
    h(ms >>> 16) +
    '-' +
    h(ms >>> 8) +
    h(ms) +
    '-' +
    h(0x70 | ((counter >>> 8) & 0x0f)) +
    h(counter) +
    '-' +
    h(0x80 | ((pool[r] as number) & 0x3f)) +
    at(1) +
    '-' +
    at(2) +
    at(3) +
    at(4) +
    at(5) +
    at(6) +
    at(7)
  );
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}
