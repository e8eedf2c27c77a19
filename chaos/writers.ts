import type pg from 'pg';
import { z } from 'zod';
import { createOutbox, defineEvent } from '../src/index.ts';
import { quoteIdent } from '../src/store/identifiers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const ChaosTick = defineEvent({
  type: 'chaos.tick',
  version: 1,
  schema: z.object({ key: z.string(), n: z.number().int() }),
  key: (p) => p.key,
});

export interface WriterOptions {
  pool: pg.Pool;
  schema: string;
  topic: string;
  writers: number;
  keysPerWriter: number;
  /** Events per transaction. */
  perTransaction: number;
  /** Events to commit in all. */
  events: number;
  /** Events per second over all writers until `unpace()`; Infinity for full speed. */
  rate: number;
}

/**
 * Writers that each own their keys, so writes to a key are serialised, as the ordering guarantee
 * requires. Payloads carry the key and a per-key counter `n`. A transaction that fails (the
 * database restarting) is not retried with the same numbers: its events may or may not have
 * committed (a COMMIT whose answer was lost), so their ids go to `uncertain` (resolved against the
 * log afterwards) and the key's counter moves on.
 */
export function startWriters(options: WriterOptions) {
  const { pool, schema, topic, writers, keysPerWriter, perTransaction, events } = options;
  const outbox = createOutbox({ schema });
  const committed: string[] = [];
  const uncertain: string[] = [];
  let failures = 0;
  let rate = options.rate;
  let stopped = false;
  const started = Date.now();
  const quota = (w: number) => Math.floor(events / writers) + (w < events % writers ? 1 : 0);

  const one = async (w: number) => {
    const counters = new Array<number>(keysPerWriter).fill(0);
    const mine = quota(w);
    let done = 0;
    let k = 0;
    while (done < mine && !stopped) {
      const wait = started + (done * writers * 1000) / rate - Date.now();
      if (wait > 0) {
        await sleep(Math.min(wait, 250));
        continue; // look again: unpace() may have lifted the pace meanwhile
      }
      const size = Math.min(perTransaction, mine - done);
      const batch = Array.from({ length: size }, () => {
        const key = k++ % keysPerWriter;
        const n = counters[key] ?? 0;
        counters[key] = n + 1;
        return ChaosTick({ key: `w${w}-k${key}`, n }, { destination: topic });
      });
      const client = await pool.connect().catch(() => undefined);
      if (!client) {
        failures++;
        await sleep(200);
        continue; // nothing was sent: the numbers are simply skipped
      }
      const onError = () => {};
      client.on('error', onError);
      let ids: string[] = [];
      try {
        await client.query('BEGIN');
        ids = (await outbox.add(client, batch)).map((a) => a.id);
        await client.query('COMMIT');
        committed.push(...ids);
        done += size;
        client.release();
      } catch (error) {
        failures++;
        uncertain.push(...ids);
        await client.query('ROLLBACK').catch(() => {});
        client.release(error instanceof Error ? error : true);
        await sleep(100);
      } finally {
        client.off('error', onError);
      }
    }
  };
  const done = Promise.all(Array.from({ length: writers }, (_, w) => one(w)));
  return {
    committed,
    uncertain,
    failures: () => failures,
    /** Writes the rest at full speed. */
    unpace: () => {
      rate = Infinity;
    },
    stop: () => {
      stopped = true;
    },
    done,
  };
}

export type Writers = ReturnType<typeof startWriters>;

/**
 * Of the failed transactions' ids (`uncertain`), those the log holds: their COMMIT went through
 * though its answer was lost, so they count as committed. Rejects while the database is down.
 */
export async function committedAnyway(pool: pg.Pool, schema: string, uncertain: string[]): Promise<string[]> {
  if (uncertain.length === 0) return [];
  const rows = await pool.query<{ id: string }>(`SELECT id FROM ${quoteIdent(schema)}.log WHERE id = ANY($1::uuid[])`, [
    uncertain,
  ]);
  return rows.rows.map((r) => r.id);
}
