// The scheduled job that gives back reservations nobody confirmed in time. Each release is its
// own transaction with its events; several instances can run, SKIP LOCKED keeps them apart.
import { createOutbox } from 'herald';
import type { PoolLike } from '../db.ts';
import { inStockTransaction } from './context.ts';
import { releaseIfExpired } from './reservations.ts';

export interface ExpiryJob {
  /** Releases what is due now; resolves to how many were released. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
  readonly released: number;
}

export function startExpiry(
  db: PoolLike,
  schema: string,
  intervalMs: number,
  onError: (e: unknown) => void,
): ExpiryJob {
  const outbox = createOutbox({ schema, source: '/inventory/expiry' });
  let released = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const runOnce = async () => {
    const { rows } = await db.query<{ id: string; correlation_id: string | null }>(
      `SELECT id, correlation_id FROM ${schema}.reservations
        WHERE status = 'ACTIVE' AND expires_at <= now() ORDER BY expires_at LIMIT 100`,
    );
    let n = 0;
    for (const r of rows) {
      const base = {
        schema,
        performedBy: 'expiry-job',
        ...(r.correlation_id ? { correlationId: r.correlation_id } : {}),
      };
      // One that fails is reported and left for the next run; the others are released.
      try {
        if (await inStockTransaction(db, base, outbox, (ctx) => releaseIfExpired(ctx, r.id))) n++;
      } catch (error) {
        onError(error);
      }
    }
    released += n;
    return n;
  };
  // The next run is scheduled when this one ends, so runs never pile up behind a slow one.
  const tick = () => {
    running = runOnce()
      .catch(onError)
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, intervalMs);
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    get released() {
      return released;
    },
  };
}
