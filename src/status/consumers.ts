import type { Queryable } from '../store/db.ts';
import { readLag } from '../store/sql/consumer-lag.ts';
import { formatCount, formatSeconds, pendingConsumerDeadLetters } from './format.ts';
import { type ConsumerDeadLetterCountRow, readConsumerDeadLetters } from './queries.ts';

// The consumers' part of `herald status`: the lag each group last stored (consumers measure it
// every `lagIntervalMs`, 5 s by default, and keep it in <schema>.consumer_lag) and their dead
// letters. Read from the database only, in the status's snapshot: no broker connection.

export interface ConsumerPartitionLag {
  topic: string;
  partition: number;
  /** The group's committed position: null when it has none or the broker only counts (RabbitMQ, SQS). */
  committed: string | null;
  /** The position after the last message in the partition: null where the broker only counts. */
  end: string | null;
  /** Messages not yet handled: end - committed (end when nothing is committed). */
  lag: number;
  /** Seconds since this partition's lag was measured. */
  measuredAgeSeconds: number;
}

export interface ConsumerGroupStatus {
  group: string;
  /** Messages not yet handled over every partition, as last measured; null when none was stored. */
  lag: number | null;
  /** The group's newest measurement; null when none was stored. */
  measuredAt: Date | null;
  /** Seconds since `measuredAt`: much more than `lagIntervalMs` means no consumer of it is running. */
  measuredAgeSeconds: number | null;
  /** Every partition the group's consumers measured, by topic and partition. */
  partitions: ConsumerPartitionLag[];
  deadLetters: {
    /** Waiting for an operator (`herald dlq list --group`). */
    pending: number;
    /** Marked for retry, waiting for a running consumer of the group. */
    retrying: number;
    /** Since the oldest pending one first failed; null when none is pending. */
    oldestAgeSeconds: number | null;
  };
}

export interface ConsumersRead {
  lag: Awaited<ReturnType<typeof readLag>>;
  deadLetters: ConsumerDeadLetterCountRow[];
}

/** Both tables, in the caller's transaction (so in the status's snapshot). */
export async function readConsumers(db: Queryable, schema: string): Promise<ConsumersRead> {
  return { lag: await readLag(db, schema), deadLetters: await readConsumerDeadLetters(db, schema) };
}

const age = (seconds: number) => Math.round(Math.max(0, seconds) * 1000) / 1000;

/** One entry per group that stored lag or has dead letters waiting, by group name; ages as of `at`. */
export function consumerGroups(read: ConsumersRead, at: Date): ConsumerGroupStatus[] {
  const groups = new Map<string, ConsumerGroupStatus>();
  const groupOf = (group: string) => {
    let g = groups.get(group);
    if (!g) {
      g = {
        group,
        lag: null,
        measuredAt: null,
        measuredAgeSeconds: null,
        partitions: [],
        deadLetters: { pending: 0, retrying: 0, oldestAgeSeconds: null },
      };
      groups.set(group, g);
    }
    return g;
  };
  for (const row of read.lag) {
    const g = groupOf(row.group);
    g.partitions.push({
      topic: row.topic,
      partition: row.partition,
      committed: row.committed ?? null,
      end: row.end ?? null,
      lag: row.lag,
      measuredAgeSeconds: age((at.getTime() - row.measuredAt.getTime()) / 1000),
    });
    g.lag = (g.lag ?? 0) + row.lag;
    if (g.measuredAt === null || row.measuredAt > g.measuredAt) g.measuredAt = row.measuredAt;
  }
  for (const g of groups.values()) {
    if (g.measuredAt) g.measuredAgeSeconds = age((at.getTime() - g.measuredAt.getTime()) / 1000);
  }
  for (const row of read.deadLetters) {
    groupOf(row.consumer_group).deadLetters = {
      pending: row.pending,
      retrying: row.retrying,
      oldestAgeSeconds: row.oldest_age_seconds === null ? null : age(row.oldest_age_seconds),
    };
  }
  return [...groups.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

/** Groups further behind than `maxConsumerLag` (null: not checked), the furthest first. */
export function consumerLagProblems(consumers: ConsumerGroupStatus[], maxConsumerLag: number | null): string[] {
  if (maxConsumerLag === null) return [];
  return consumers
    .filter((c) => c.lag !== null && c.lag > maxConsumerLag)
    .sort((a, b) => (b.lag ?? 0) - (a.lag ?? 0))
    .map(
      (c) =>
        `consumer group ${c.group} is ${formatCount(c.lag ?? 0, 'message')} behind (measured ${formatSeconds(c.measuredAgeSeconds ?? 0)} ago)`,
    );
}

const shownGroups = 5;

/** `3 dead letters pending`, naming the relay's and each group's share when consumers have some. */
export function deadLetterProblem(relayPending: number, consumers: readonly ConsumerGroupStatus[]): string {
  const total = relayPending + pendingConsumerDeadLetters(consumers);
  const head = `${formatCount(total, 'dead letter')} pending`;
  const groups = consumers
    .filter((c) => c.deadLetters.pending > 0)
    .sort((a, b) => b.deadLetters.pending - a.deadLetters.pending);
  if (groups.length === 0) return head;
  const parts = [
    ...(relayPending > 0 ? [`relay ${relayPending.toLocaleString('en-US')}`] : []),
    ...groups.slice(0, shownGroups).map((c) => `group ${c.group} ${c.deadLetters.pending.toLocaleString('en-US')}`),
    ...(groups.length > shownGroups ? [`${groups.length - shownGroups} more groups`] : []),
  ];
  return `${head} (${parts.join(', ')})`;
}
