import type { Queryable } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';
import type { Position } from './read-batch.ts';
import { openSlice } from './read-range.ts';

/** Where a group's rebuild from history is (migration 0016). */
export interface RebuildState {
  horizon: string;
  position: Position;
  events: number;
  complete: boolean;
}

/**
 * The group's rebuild, begun now if it has none: the horizon is taken once, so the slice it
 * reads is fixed (every transaction below it had ended) and a resumed rebuild reads the same one.
 */
export async function beginRebuild(db: Queryable, schema: string, group: string): Promise<RebuildState> {
  const s = quoteIdent(schema);
  const { horizon } = await openSlice(db);
  await db.query(
    `INSERT INTO ${s}.rebuilds (group_name, horizon) VALUES ($1, $2::xid8) ON CONFLICT (group_name) DO NOTHING`,
    [group, horizon],
  );
  const { rows } = await db.query<{ horizon: string; xid: string; seq: string; events: string; complete: boolean }>(
    `SELECT horizon::text AS horizon, position_xid::text AS xid, position_seq::text AS seq, events::text AS events,
  completed_at IS NOT NULL AS complete
FROM ${s}.rebuilds WHERE group_name = $1`,
    [group],
  );
  const r = rows[0] as (typeof rows)[number];
  return { horizon: r.horizon, position: { xid: r.xid, seq: r.seq }, events: Number(r.events), complete: r.complete };
}

/** Records the position every event up to which is handled; `complete` when the slice is done. */
export async function saveRebuild(
  db: Queryable,
  schema: string,
  group: string,
  position: Position,
  handled: number,
  complete: boolean,
): Promise<void> {
  await db.query(
    `UPDATE ${quoteIdent(schema)}.rebuilds SET position_xid = $2::xid8, position_seq = $3, events = events + $4,
  completed_at = CASE WHEN $5 THEN now() END
WHERE group_name = $1`,
    [group, position.xid, position.seq, handled, complete],
  );
}
