import type pg from 'pg';
import type { Fleet } from './fleet.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A query that may fail while PostgreSQL restarts: undefined then. */
async function tryQuery<T extends pg.QueryResultRow>(pool: pg.Pool, sql: string, params: unknown[] = []) {
  try {
    return (await pool.query<T>(sql, params)).rows;
  } catch {
    return undefined;
  }
}

/**
 * For each shard, a key that hashes to it: the same expression the writers' INSERT uses
 * (src/store/sql/insert-events.ts). The probe's row reports its shard, so a change there shows.
 */
export async function probeKeys(pool: pg.Pool, schema: string): Promise<Map<number, string>> {
  const rows = await pool.query<{ shard: number; key: string }>(
    `SELECT DISTINCT ON (x.shard) x.shard, x.key FROM (
  SELECT 'probe-' || g AS key, ((hashtextextended('probe-' || g, 0) % st.shard_count + st.shard_count) % st.shard_count)::int AS shard
  FROM generate_series(0, 20000) g, "${schema}".settings st) x ORDER BY x.shard, x.key`,
  );
  return new Map(rows.rows.map((r) => [r.shard, r.key]));
}

/** Waits until every shard is leased and every relay of the fleet holds some. */
export async function settled(pool: pg.Pool, schema: string, fleet: Fleet, shardCount: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const rows = await tryQuery<{ owner: string; n: number }>(
      pool,
      `SELECT owner, count(*)::int AS n FROM "${schema}".leases WHERE expires_at > now() AND owner IS NOT NULL GROUP BY owner`,
    );
    if (rows) {
      const held = rows.reduce((s, r) => s + r.n, 0);
      const owners = new Set(rows.map((r) => r.owner));
      if (held === shardCount && fleet.slots.every((s) => owners.has(s.instance))) return;
    }
    await sleep(100);
  }
  throw new Error(`the relays did not settle to an even split within ${timeoutMs} ms`);
}

export interface Failover {
  action: 'kill' | 'stop';
  /** Shards the victim held when it was killed or paused. */
  shards: number;
  /** Seconds until every shard was leased to a relay other than the victim. */
  leasedSeconds: number;
  /** Seconds until the probe (written to one of the victim's shards after the kill) was published: its shard's cursor passed it. */
  publishedSeconds: number;
  probeShard: number;
  /** Whether the probe landed on a shard the victim held (else the measure is only the lease one). */
  probeOnVictimShard: boolean;
  timedOut: boolean;
}

export interface MeasureOptions {
  pool: pg.Pool;
  schema: string;
  victim: string;
  victimShards: number[];
  shardCount: number;
  probe: { xid: string; shard: number };
  /** Date.now() at the kill. */
  at: number;
  action: 'kill' | 'stop';
  log: (line: string) => void;
  timeoutMs?: number;
}

/** Polls every 50 ms until the victim's shards are leased by others and the probe is published. */
export async function measureFailover(o: MeasureOptions): Promise<Failover> {
  const { pool, schema, victim, shardCount, probe, at } = o;
  const deadline = at + (o.timeoutMs ?? 60_000);
  let leased: number | undefined;
  let published: number | undefined;
  while (Date.now() < deadline && (leased === undefined || published === undefined)) {
    if (leased === undefined) {
      const rows = await tryQuery<{ n: number }>(
        pool,
        `SELECT count(*)::int AS n FROM "${schema}".leases WHERE expires_at > now() AND owner IS NOT NULL AND owner <> $1`,
        [victim],
      );
      if (rows?.[0]?.n === shardCount) leased = Date.now();
    }
    if (published === undefined) {
      const rows = await tryQuery<{ done: boolean }>(
        pool,
        `SELECT c.xid >= $2::xid8 AS done FROM "${schema}".cursors c WHERE c.shard = $1`,
        [probe.shard, probe.xid],
      );
      if (rows?.[0]?.done) published = Date.now();
    }
    await sleep(50);
  }
  const seconds = (t: number | undefined) => Math.round(((t ?? Date.now()) - at) / 10) / 100;
  const f: Failover = {
    action: o.action,
    shards: o.victimShards.length,
    leasedSeconds: seconds(leased),
    publishedSeconds: seconds(published),
    probeShard: probe.shard,
    probeOnVictimShard: o.victimShards.includes(probe.shard),
    timedOut: leased === undefined || published === undefined,
  };
  o.log(
    `  ${o.action}: shards leased to others after ${f.leasedSeconds} s, probe on shard ${f.probeShard} published after ${f.publishedSeconds} s${f.timedOut ? ' (TIMED OUT)' : ''}`,
  );
  return f;
}
