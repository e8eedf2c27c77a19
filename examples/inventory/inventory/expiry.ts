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
  let running: Promise<number> = Promise.resolve(0);
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
      if (await inStockTransaction(db, base, outbox, (ctx) => releaseIfExpired(ctx, r.id))) n++;
    }
    released += n;
    return n;
  };
  const timer = setInterval(() => {
    running = running.then(runOnce).catch((e) => {
      onError(e);
      return 0;
    });
  }, intervalMs);
  return {
    runOnce: () => {
      running = running.then(runOnce);
      return running;
    },
    async stop() {
      clearInterval(timer);
      await running.catch(() => 0);
    },
    get released() {
      return released;
    },
  };
}
