import { randomBytes } from 'node:crypto';
import { Admin, Consumer, consumerFetchesChannel } from '@platformatic/kafka';

/** The part of a fetch response read here (the client's FetchResponse, not exported by name). */
interface FetchResult {
  responses: {
    partitions: {
      partitionIndex: number;
      records?:
        | { attributes: number; firstOffset: bigint; maxTimestamp: bigint; records: { offsetDelta: number }[] }[]
        | null;
    }[];
  }[];
}

/** Bit 3 of a record batch's attributes: its timestamp is the broker's append time. */
const logAppendTime = 0b1000;

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/**
 * A topic whose record timestamps are the broker's append time (`LogAppendTime`), so reading it
 * back tells when each message was written to the log: on a single broker, its ack time.
 */
export async function createTopic(
  brokers: string[],
  prefix: string,
  partitions: number,
  configs: { name: string; value: string }[] = [],
): Promise<string> {
  const topic = uniqueName(prefix);
  const admin = new Admin({ clientId: 'herald-bench-admin', bootstrapBrokers: brokers });
  try {
    await admin.createTopics({
      topics: [topic],
      partitions,
      replicas: 1,
      configs: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }, ...configs],
    });
  } finally {
    await admin.close();
  }
  return topic;
}

export async function deleteTopics(brokers: string[], topics: string[]): Promise<void> {
  const admin = new Admin({ clientId: 'herald-bench-admin', bootstrapBrokers: brokers });
  try {
    await admin.deleteTopics({ topics });
  } finally {
    await admin.close();
  }
}

export interface Copy {
  /** The broker's append time, ms. */
  at: number;
  /** partition:offset */
  where: string;
}

export interface ReadBack {
  /** Every copy of every event in the topic, by `ce_id`. */
  copies: Map<string, Copy[]>;
  messages: number;
  /** Messages without a `ce_id` header. */
  unidentified: number;
}

/**
 * Reads the whole topic, up to the end offsets it has now, with a plain consumer (a fresh group,
 * from the earliest offset). The consumer API reports the producer's timestamp (base timestamp +
 * delta), so the append time is taken from the raw record batches, whose max timestamp the broker
 * overwrites with its clock under LogAppendTime; they are seen on the client's fetch channel.
 */
export async function readTopic(brokers: string[], topic: string, timeoutMs = 120_000): Promise<ReadBack> {
  const consumer = new Consumer({
    groupId: uniqueName('herald-bench-reader'),
    clientId: 'herald-bench-reader',
    bootstrapBrokers: brokers,
    maxWaitTime: 200,
    maxBytes: 16 * 1024 * 1024,
  });
  const appended = new Map<string, number>();
  let wrongType = 0;
  const onFetch = (context: unknown) => {
    const { client, result } = context as { client?: unknown; result?: FetchResult };
    if (client !== consumer || !result) return;
    for (const t of result.responses) {
      for (const p of t.partitions) {
        for (const batch of p.records ?? []) {
          if ((batch.attributes & logAppendTime) === 0) wrongType++;
          const at = Number(batch.maxTimestamp);
          for (const r of batch.records)
            appended.set(`${p.partitionIndex}:${batch.firstOffset + BigInt(r.offsetDelta)}`, at);
        }
      }
    }
  };
  // The fetch's callback runs between asyncStart and asyncEnd, with `result` already set.
  consumerFetchesChannel.asyncStart.subscribe(onFetch);
  const out: ReadBack = { copies: new Map(), messages: 0, unidentified: 0 };
  const seen = new Set<string>();
  try {
    const ends = (await consumer.listOffsets({ topics: [topic] })).get(topic) ?? [];
    const remaining = new Set(ends.flatMap((end, partition) => (end > 0n ? [partition] : [])));
    if (remaining.size === 0) return out;
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    const deadline = setTimeout(() => void stream.close(), timeoutMs);
    try {
      for await (const m of stream) {
        const where = `${m.partition}:${m.offset}`;
        if (seen.has(where)) continue; // the same record fetched twice is not a duplicate
        seen.add(where);
        let id: string | undefined;
        for (const [k, v] of m.headers) if (k.toString() === 'ce_id') id = v.toString();
        out.messages++;
        const at = appended.get(where);
        if (at === undefined) throw new Error(`no append time seen for ${topic}/${m.partition}@${m.offset}`);
        if (id === undefined) out.unidentified++;
        else {
          const list = out.copies.get(id);
          if (list) list.push({ at, where });
          else out.copies.set(id, [{ at, where }]);
        }
        if (m.offset + 1n >= (ends[m.partition] ?? 0n)) remaining.delete(m.partition);
        if (remaining.size === 0) break;
      }
    } finally {
      clearTimeout(deadline);
      await stream.close().catch(() => {});
    }
    if (remaining.size > 0) throw new Error(`read-back of ${topic} timed out before partitions ${[...remaining]}`);
  } finally {
    consumerFetchesChannel.asyncStart.unsubscribe(onFetch);
    await consumer.close(true).catch(() => {});
  }
  if (wrongType > 0) throw new Error(`${topic}: ${wrongType} batches without LogAppendTime timestamps`);
  return out;
}
