import type { GaugeReading } from '../observe/metrics.ts';
import type { PoolLike } from '../store/connect.ts';
import { consumerGroups, readConsumers } from './consumers.ts';
import { readDeadLetters, readRelays, readShards } from './queries.ts';
import { inStatusSnapshot } from './status.ts';

/**
 * The gauges a scrape reads, from `herald status`'s own queries in one snapshot, with no work per
 * event: the backlog per shard (an index range scan each), pending dead letters, leases and the
 * consumers' stored lag. Not the rates or the blocking transaction: the rates count the last
 * minute of the log, more than a scrape every few seconds should cost.
 */
export const readGauges = (db: PoolLike, schema: string) => async (): Promise<GaugeReading[]> => {
  const read = await inStatusSnapshot(db, async (tx) => ({
    shards: await readShards(tx, schema),
    deadLetters: await readDeadLetters(tx, schema, 1),
    leases: await readRelays(tx, schema),
    consumers: await readConsumers(tx, schema),
  }));
  const ages = read.shards.map((s) => s.oldest_age_seconds).filter((a): a is number => a !== null);
  // Shards with a valid lease; the others (no cursor yet included) nobody publishes.
  const held = read.leases.relays.reduce((n, r) => n + r.shards.length, 0);
  const readings: GaugeReading[] = [
    { metric: 'outboxPending', labels: {}, value: read.shards.reduce((n, s) => n + s.events, 0) },
    { metric: 'outboxOldestAge', labels: {}, value: ages.length === 0 ? 0 : Math.max(0, ...ages) },
    { metric: 'shardLeases', labels: { state: 'held' }, value: held },
    { metric: 'shardLeases', labels: { state: 'free' }, value: read.shards.length - held },
    { metric: 'relays', labels: {}, value: read.leases.relays.filter((r) => r.alive).length },
    { metric: 'deadLetters', labels: { source: 'relay' }, value: read.deadLetters[0]?.pending ?? 0 },
  ];
  for (const g of consumerGroups(read.consumers, read.shards[0]?.at ?? new Date())) {
    readings.push({
      metric: 'deadLetters',
      labels: { source: 'consumer', group: g.group },
      value: g.deadLetters.pending,
    });
    if (g.lag !== null) readings.push({ metric: 'consumerLag', labels: { group: g.group }, value: g.lag });
  }
  return readings;
};
