/**
 * The partition of a key: FNV-1a of its UTF-8 bytes, modulo the partitions. Stable across
 * processes, versions and languages while the partition count stays the same.
 */
export function partitionOf(key: string, partitions: number): number {
  return fnv1a(key) % partitions;
}

/** FNV-1a (32-bit) over the text's UTF-8 bytes: a stable hash of a key, in any process. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
