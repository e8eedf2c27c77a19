// The consumers' tables of the end-to-end chaos run, in the run's herald schema, and what is read
// back from them: chaos_effects (one row per application, no unique key, so a second application
// shows), chaos_last (the last n applied per key) and chaos_order_violations.
import type pg from 'pg';
import { quoteIdent } from '../src/store/identifiers.ts';

const tables = (schema: string) => {
  const s = quoteIdent(schema);
  return { effects: `${s}.chaos_effects`, last: `${s}.chaos_last`, violations: `${s}.chaos_order_violations` };
};

export async function createEffectTables(pool: pg.Pool, schema: string): Promise<void> {
  const t = tables(schema);
  await pool.query(`CREATE TABLE ${t.effects} (event_id uuid NOT NULL, key text NOT NULL, n int NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE ${t.last} (key text PRIMARY KEY, n int NOT NULL);
CREATE TABLE ${t.violations} (event_id uuid NOT NULL, key text NOT NULL, n int NOT NULL, after_n int NOT NULL)`);
}

/**
 * The handler's one statement ($1 event id, $2 key, $3 n): the effect, the key's last n locked and
 * compared (a smaller n than the last applied one is a violation), and the last n moved on.
 */
export function effectsSql(schema: string): string {
  const t = tables(schema);
  return `WITH prev AS (SELECT n FROM ${t.last} WHERE key = $2 FOR UPDATE),
effect AS (INSERT INTO ${t.effects} (event_id, key, n) VALUES ($1, $2, $3)),
violation AS (INSERT INTO ${t.violations} (event_id, key, n, after_n) SELECT $1, $2, $3, prev.n FROM prev WHERE prev.n > $3)
INSERT INTO ${t.last} AS l (key, n) VALUES ($2, $3) ON CONFLICT (key) DO UPDATE SET n = GREATEST(l.n, EXCLUDED.n)`;
}

/** Rows in chaos_effects (applications, a second one of an event included); undefined while the database restarts. */
export async function appliedCount(pool: pg.Pool, schema: string): Promise<number | undefined> {
  try {
    const r = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${tables(schema).effects}`);
    return Number(r.rows[0]?.n);
  } catch {
    return undefined;
  }
}

export async function distinctApplied(pool: pg.Pool, schema: string): Promise<number> {
  const r = await pool.query<{ n: string }>(`SELECT count(DISTINCT event_id) AS n FROM ${tables(schema).effects}`);
  return Number(r.rows[0]?.n);
}

export interface Applied {
  /** Committed events with no row in chaos_effects. */
  lost: number;
  /** Rows beyond the first for an event. */
  appliedTwice: number;
  orderViolations: number;
  /** Applied events no committed transaction wrote. */
  phantoms: number;
  applied: number;
  examples: string[];
}

/** Reads the consumers' tables back and checks them against the committed ids. */
export async function checkApplied(pool: pg.Pool, schema: string, committed: Set<string>): Promise<Applied> {
  const t = tables(schema);
  const counts = await pool.query<{ rows: string; events: string; violations: string }>(
    `SELECT (SELECT count(*) FROM ${t.effects}) AS rows, (SELECT count(DISTINCT event_id) FROM ${t.effects}) AS events,
  (SELECT count(*) FROM ${t.violations}) AS violations`,
  );
  const c = counts.rows[0] as { rows: string; events: string; violations: string };
  const examples: string[] = [];
  const seen = new Set<string>();
  let phantoms = 0;
  const cursor = await pool.query<{ event_id: string }>(`SELECT DISTINCT event_id FROM ${t.effects}`);
  for (const { event_id: id } of cursor.rows) {
    seen.add(id);
    if (!committed.has(id)) phantoms++;
  }
  let lost = 0;
  for (const id of committed) {
    if (seen.has(id)) continue;
    lost++;
    if (examples.length < 5) examples.push(`lost ${id}`);
  }
  const twice = await pool.query<{ event_id: string; n: string }>(
    `SELECT event_id, count(*) AS n FROM ${t.effects} GROUP BY event_id HAVING count(*) > 1 LIMIT 3`,
  );
  for (const r of twice.rows) examples.push(`applied ${r.n} times: ${r.event_id}`);
  const bad = await pool.query<{ key: string; n: number; after_n: number }>(
    `SELECT key, n, after_n FROM ${t.violations} LIMIT 3`,
  );
  for (const r of bad.rows) examples.push(`key ${r.key}: n=${r.n} applied after n=${r.after_n}`);
  return {
    lost,
    appliedTwice: Number(c.rows) - Number(c.events),
    orderViolations: Number(c.violations),
    phantoms,
    applied: Number(c.events),
    examples,
  };
}
