import type pg from 'pg';
import { uuidv7 } from '../src/index.ts';
import { claimInboxRows } from '../src/store/sql/inbox.ts';
import { eventType } from './consume-baseline.ts';
import { effectSql } from './consume-handler.ts';

/** Group commit's largest group by default (createConsumer's groupCommit.maxEvents). */
export const groupMax = 64;

/**
 * The floor of any consumer whose handler writes a row per event, on this machine: the same
 * statement per event, sent by node-postgres at Herald's concurrency in transactions of group
 * commit's largest group, and nothing else (no broker, no decoding, no inbox, no offsets).
 * `together`: a transaction's statements are sent at once, without waiting for each answer (on
 * a pipelining pool: what group commit with pipeline could reach at best). `inbox`: before them,
 * the transaction claims its events' inbox rows with Herald's own statement, as any consumer that
 * makes effects once by an inbox must.
 */
export async function statementFloor(
  pool: pg.Pool,
  schema: string,
  events: number,
  concurrency: number,
  options: { together: boolean; inbox: boolean; keys: number },
) {
  const s = `"${schema}"`;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const client = await pool.connect();
      try {
        while (next < events) {
          const from = next;
          const to = Math.min(events, from + groupMax);
          next = to;
          const write = (n: number) => client.query(effectSql(s), [`floor-${n}`, `k-${n % options.keys}`, n]);
          await client.query('BEGIN');
          if (options.inbox) {
            const rows = Array.from({ length: to - from }, () => ({
              group: 'floor',
              eventId: uuidv7(), // as the bench's events' ids are
              eventTime: new Date(),
              type: eventType,
            }));
            await claimInboxRows(client, schema, rows, true);
          }
          if (options.together) await Promise.all(Array.from({ length: to - from }, (_, k) => write(from + k)));
          else for (let n = from; n < to; n++) await write(n);
          await client.query('COMMIT');
        }
      } finally {
        client.release();
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  return { elapsedMs, firstMs: 0, skipped: 0, deadLettered: 0 };
}
