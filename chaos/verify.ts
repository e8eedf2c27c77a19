/** What a plain consumer read back, checked against what the writers committed. */
export interface Verdict {
  /** Committed event ids never seen in any topic. */
  lost: number;
  /** Keys whose first copies did not arrive in increasing `n` order. */
  orderViolations: number;
  /** Adjacent pairs of first copies out of order, over every key (0 when orderViolations is 0). */
  outOfOrderPairs: number;
  /** Records read beyond the first copy of each event. */
  duplicates: number;
  /** Events whose copies reached the broker more than once. */
  duplicatedEvents: number;
  /** Event ids seen that no committed transaction wrote (would mean rolled-back work was published). */
  phantoms: number;
  /** Records read back, duplicates included. */
  read: number;
  examples: string[];
}

export interface ReadRecord {
  value: string;
  headers: Record<string, string>;
}

/**
 * `messages` come in offset order per partition, and a key lives in one partition, so per key
 * they are in the order the broker appended them. The first copy of each event (by `ce_id`) must
 * carry a larger `n` than the first copy before it: writers give each key 0, 1, 2... in commit
 * order (an ambiguous commit skips its numbers, so gaps are allowed, going back is not).
 */
export function verify(committed: Set<string>, messages: ReadRecord[]): Verdict {
  const seen = new Map<string, number>();
  const lastN = new Map<string, number>();
  const badKeys = new Set<string>();
  const examples: string[] = [];
  let outOfOrderPairs = 0;
  let phantoms = 0;
  for (const m of messages) {
    const id = m.headers.ce_id ?? '';
    const copies = seen.get(id) ?? 0;
    seen.set(id, copies + 1);
    if (copies > 0) continue;
    if (!committed.has(id)) phantoms++;
    const { key, n } = JSON.parse(m.value) as { key: string; n: number };
    const before = lastN.get(key);
    if (before !== undefined && n <= before) {
      outOfOrderPairs++;
      badKeys.add(key);
      if (examples.length < 5) examples.push(`key ${key}: n=${n} arrived after n=${before}`);
    }
    lastN.set(key, Math.max(n, before ?? -1));
  }
  let lost = 0;
  for (const id of committed) {
    if (!seen.has(id)) {
      lost++;
      if (examples.length < 10) examples.push(`lost ${id}`);
    }
  }
  let duplicatedEvents = 0;
  for (const copies of seen.values()) if (copies > 1) duplicatedEvents++;
  return {
    lost,
    orderViolations: badKeys.size,
    outOfOrderPairs,
    duplicates: messages.length - seen.size,
    duplicatedEvents,
    phantoms,
    read: messages.length,
    examples,
  };
}
