import type { Queryable } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';
import type { Position } from './read-batch.ts';

/** What a replay reads: the filters and the time window, as given (times as ISO text). */
export interface ReplaySlice {
  from: string;
  to: string;
  types?: string[];
  keys?: string[];
  aggregateTypes?: string[];
  destination?: string;
  topicPrefix?: string;
}

export type ReplayState = 'running' | 'stopped' | 'failed' | 'complete';

/** A replay's checkpoint (migration 0014). */
export interface ReplayRecord {
  id: string;
  slice: ReplaySlice;
  horizon: string;
  /** The snapshot that fixed the slice (migration 0017); null for replays recorded before it. */
  snapshot: string | null;
  matched: number;
  published: number;
  position: Position;
  byType: Record<string, number>;
  byDestination: Record<string, number>;
  state: ReplayState;
  error: string | null;
  startedAt: Date;
  updatedAt: Date;
}

interface Row {
  id: string;
  slice: ReplaySlice;
  horizon: string;
  snapshot: string | null;
  matched: string;
  published: string;
  position_xid: string;
  position_seq: string;
  by_type: Record<string, number>;
  by_destination: Record<string, number>;
  state: ReplayState;
  error: string | null;
  started_at: Date;
  updated_at: Date;
}

const columns = `id, slice, horizon::text AS horizon, snapshot::text AS snapshot, matched::text AS matched, published::text AS published,
  position_xid::text AS position_xid, position_seq::text AS position_seq, by_type, by_destination, state, error,
  started_at, updated_at`;

const toRecord = (r: Row): ReplayRecord => ({
  id: r.id,
  slice: r.slice,
  horizon: r.horizon,
  snapshot: r.snapshot,
  matched: Number(r.matched),
  published: Number(r.published),
  position: { xid: r.position_xid, seq: r.position_seq },
  byType: r.by_type,
  byDestination: r.by_destination,
  state: r.state,
  error: r.error,
  startedAt: r.started_at,
  updatedAt: r.updated_at,
});

export async function insertReplay(
  db: Queryable,
  schema: string,
  replay: { id: string; slice: ReplaySlice; horizon: string; snapshot: string | null; matched: number },
): Promise<void> {
  await db.query(
    `INSERT INTO ${quoteIdent(schema)}.replays (id, slice, horizon, snapshot, matched)
VALUES ($1, $2, $3::xid8, $4::pg_snapshot, $5)`,
    [replay.id, JSON.stringify(replay.slice), replay.horizon, replay.snapshot, replay.matched],
  );
}

/** Records the position reached after a page the broker acknowledged, or the replay's end. */
export async function saveReplay(
  db: Queryable,
  schema: string,
  id: string,
  progress: {
    position: Position;
    published: number;
    byType: Record<string, number>;
    byDestination: Record<string, number>;
    state: ReplayState;
    error?: string | null;
  },
): Promise<void> {
  await db.query(
    `UPDATE ${quoteIdent(schema)}.replays SET position_xid = $2::xid8, position_seq = $3, published = $4,
  by_type = $5, by_destination = $6, state = $7, error = $8, updated_at = now()
WHERE id = $1`,
    [
      id,
      progress.position.xid,
      progress.position.seq,
      progress.published,
      JSON.stringify(progress.byType),
      JSON.stringify(progress.byDestination),
      progress.state,
      progress.error ?? null,
    ],
  );
}

/** One replay by id, or the latest that did not complete when `id` is undefined. */
export async function findReplay(db: Queryable, schema: string, id?: string): Promise<ReplayRecord | undefined> {
  const s = quoteIdent(schema);
  const result =
    id === undefined
      ? await db.query<Row>(
          `SELECT ${columns} FROM ${s}.replays WHERE state <> 'complete' ORDER BY updated_at DESC LIMIT 1`,
        )
      : await db.query<Row>(`SELECT ${columns} FROM ${s}.replays WHERE id = $1`, [id]);
  const row = result.rows[0];
  return row ? toRecord(row) : undefined;
}

/** Recent replays, newest first. */
export async function listReplays(db: Queryable, schema: string, limit = 20): Promise<ReplayRecord[]> {
  const result = await db.query<Row>(
    `SELECT ${columns} FROM ${quoteIdent(schema)}.replays ORDER BY started_at DESC LIMIT $1`,
    [limit],
  );
  return result.rows.map(toRecord);
}

/**
 * Takes the session lock that says a replay is running (one process per replay id); false when
 * another session holds it. Released by unlockReplay or the end of the session.
 */
export async function lockReplay(db: Queryable, id: string): Promise<boolean> {
  const result = await db.query<{ locked: boolean }>(
    `SELECT pg_try_advisory_lock(hashtextextended('herald.replay:' || $1, 0)) AS locked`,
    [id],
  );
  return result.rows[0]?.locked === true;
}

export async function unlockReplay(db: Queryable, id: string): Promise<void> {
  await db.query(`SELECT pg_advisory_unlock(hashtextextended('herald.replay:' || $1, 0))`, [id]);
}
