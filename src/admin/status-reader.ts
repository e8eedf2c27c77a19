import { getStatus, type HeraldStatus } from '../status/status.ts';
import type { PoolLike } from '../store/connect.ts';
import type { StatusSample } from './route.ts';

/** Samples kept for the overview's charts: 24 minutes at one every 2 s. */
const historyLength = 720;
const sampleEveryMs = 2_000;
/** A status this young is shared: a dozen open dashboards cost one read a second, not a dozen. */
const freshMs = 1_000;

/**
 * `herald status` for the admin API, read at most once a second whatever the number of callers,
 * and the history of its figures the overview draws: a sample every 2 s while someone reads it,
 * so nothing runs on a timer while nobody looks.
 */
export function createStatusReader(pool: PoolLike, schema: string) {
  let reading: { at: number; status: Promise<HeraldStatus> } | undefined;
  const samples: StatusSample[] = [];

  const record = (s: HeraldStatus) => {
    const last = samples.at(-1);
    if (last && s.at.getTime() - last.at.getTime() < sampleEveryMs) return;
    const lags = s.consumers.filter((g) => g.lag !== null);
    samples.push({
      at: s.at,
      pending: s.backlog.events,
      oldestAgeSeconds: s.backlog.oldestAgeSeconds,
      writtenPerSecond: s.rates.writtenPerSecond,
      publishedPerSecond: s.rates.publishedPerSecond,
      deadLetters: s.deadLetters.pending + s.consumers.reduce((n, g) => n + g.deadLetters.pending, 0),
      consumerLag: lags.length > 0 ? lags.reduce((n, g) => n + (g.lag ?? 0), 0) : null,
    });
    if (samples.length > historyLength) samples.shift();
  };

  return {
    status(): Promise<HeraldStatus> {
      const now = Date.now();
      if (!reading || now - reading.at >= freshMs) {
        const read = getStatus({ db: pool, schema });
        reading = { at: now, status: read };
        // A failed read is not shared: the next caller tries again.
        read.then(record, () => {
          reading = undefined;
        });
      }
      return reading.status;
    },
    history: (): StatusSample[] => [...samples],
    /** Resolves once the read under way, if any, has ended (before the pool closes). */
    async settled() {
      await Promise.allSettled([reading?.status]);
    },
  };
}
