import type { GaugeReading } from '../observe/metrics.ts';
import type { PoolLike } from '../store/connect.ts';
import { getStatus, type HeraldStatus } from './status.ts';

/** `herald status` as gauge readings: what a scrape reads, with no work per event. */
export function statusReadings(status: HeraldStatus): GaugeReading[] {
  const shardCount = status.backlog.shards.length;
  // Shards with a valid lease; the others (no cursor yet included) nobody publishes.
  const held = status.relays.reduce((n, r) => n + r.shards.length, 0);
  const readings: GaugeReading[] = [
    { metric: 'outboxPending', labels: {}, value: status.backlog.events },
    { metric: 'outboxOldestAge', labels: {}, value: status.backlog.oldestAgeSeconds ?? 0 },
    { metric: 'shardLeases', labels: { state: 'held' }, value: held },
    { metric: 'shardLeases', labels: { state: 'free' }, value: shardCount - held },
    { metric: 'relays', labels: {}, value: status.relays.filter((r) => r.alive).length },
    { metric: 'deadLetters', labels: { source: 'relay' }, value: status.deadLetters.pending },
  ];
  for (const g of status.consumers) {
    readings.push({
      metric: 'deadLetters',
      labels: { source: 'consumer', group: g.group },
      value: g.deadLetters.pending,
    });
    if (g.lag !== null) readings.push({ metric: 'consumerLag', labels: { group: g.group }, value: g.lag });
  }
  return readings;
}

/** Reads the status of one schema on each call: the gauge source a relay or consumer watches. */
export const readGauges = (db: PoolLike, schema: string) => async () => statusReadings(await getStatus({ db, schema }));
