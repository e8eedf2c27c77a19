import { createHash } from 'node:crypto';
import type { Queryable } from './db.ts';
import { quoteIdent } from './identifiers.ts';

/**
 * The logical replication slot and publication of a herald schema's log (the relay's CDC source).
 * Names derive from the schema, which quoteIdent has validated; a long schema name is shortened
 * with a hash, since slot names are at most 63 characters.
 */
export function replicationNames(schema: string): { slot: string; publication: string } {
  quoteIdent(schema);
  const base = `herald_${schema}`;
  const name =
    base.length <= 63 ? base : `${base.slice(0, 50)}_${createHash('sha256').update(schema).digest('hex').slice(0, 12)}`;
  return { slot: name, publication: name };
}

/** Creates the publication of the log (inserts only, as the root table) unless it exists. */
export async function ensurePublication(db: Queryable, schema: string): Promise<void> {
  const { publication } = replicationNames(schema);
  const found = await db.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
  if (found.rows.length > 0) return;
  await db
    .query(
      `CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${quoteIdent(schema)}.log
WITH (publish = 'insert', publish_via_partition_root = true)`,
    )
    .catch((error: { code?: string }) => {
      if (error.code !== '42710') throw error; // created meanwhile by another relay
    });
}

export interface SlotInfo {
  slot: string;
  active: boolean;
  /** WAL the slot keeps from being recycled, in bytes. */
  retainedBytes: number;
  confirmedLsn: string | null;
}

/** The slot of the schema, or null when there is none. */
export async function slotInfo(db: Queryable, schema: string): Promise<SlotInfo | null> {
  const { slot } = replicationNames(schema);
  const result = await db.query<{ active: boolean; retained: string | null; confirmed: string | null }>(
    `SELECT s.active, pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::text AS retained,
  s.confirmed_flush_lsn::text AS confirmed
FROM pg_replication_slots s WHERE s.slot_name = $1`,
    [slot],
  );
  const row = result.rows[0];
  if (!row) return null;
  return { slot, active: row.active, retainedBytes: Number(row.retained ?? 0), confirmedLsn: row.confirmed };
}

/**
 * Creates the slot unless it exists; `created` when it was (what it did not see must be read from
 * the log), and where it stands (its confirmed_flush_lsn). Creating a slot waits for transactions
 * running at that moment to end, so it runs under a statement timeout: a long transaction makes
 * start-up retry, not hang.
 */
export async function ensureSlot(
  db: Queryable,
  schema: string,
  timeoutMs: number,
): Promise<{ created: boolean; confirmedLsn: string | null }> {
  const { slot } = replicationNames(schema);
  const found = await slotInfo(db, schema);
  if (found !== null) return { created: false, confirmedLsn: found.confirmedLsn };
  await db.query(`SET statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
  try {
    // A new slot's confirmed_flush_lsn is the point it was made at, which this returns.
    const made = await db.query<{ lsn: string }>(
      `SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')`,
      [slot],
    );
    return { created: true, confirmedLsn: made.rows[0]?.lsn ?? null };
  } catch (error) {
    // Created meanwhile by another relay.
    if ((error as { code?: string }).code === '42710')
      return { created: false, confirmedLsn: (await slotInfo(db, schema))?.confirmedLsn ?? null };
    throw error;
  } finally {
    await db.query('SET statement_timeout = 0');
  }
}

/**
 * Drops the slot and publication (tests, and users leaving CDC). A slot still read by a relay
 * cannot be dropped: it waits up to `waitMs` for the reader to let go.
 */
export async function dropReplication(db: Queryable, schema: string, waitMs = 10_000): Promise<void> {
  const { slot, publication } = replicationNames(schema);
  const until = Date.now() + waitMs;
  while ((await slotInfo(db, schema))?.active && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  await db.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  await db.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(publication)}`);
}

/** The server's WAL position and the oldest running transaction, read together: a checkpoint. */
export async function walCheckpoint(db: Queryable): Promise<{ lsn: string; xmin: string }> {
  const result = await db.query<{ lsn: string; xmin: string }>(
    'SELECT pg_current_wal_insert_lsn()::text AS lsn, pg_snapshot_xmin(pg_current_snapshot())::text AS xmin',
  );
  return result.rows[0] as { lsn: string; xmin: string };
}

/** An LSN (`16/B374D848`) as a number, to compare. */
export function lsnValue(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi ?? '0'}`) << 32n) + BigInt(`0x${lo ?? '0'}`);
}

/** A number as an LSN's text (`16/B374D848`). */
export function lsnText(value: bigint): string {
  return `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;
}
