import type { Queryable } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';
import { type DeadLetterSelection, type FailureRow, selectionWhere } from './filter.ts';
import type { LogRow } from './read-batch.ts';
import { storableText } from './text.ts';

export type DeadLetterStatus = 'pending' | 'retried' | 'discarded';

/** A log row as it was (its topic resolved), with why it failed and what became of it. */
export interface DeadLetterRow extends Omit<LogRow, 'destination'>, FailureRow<DeadLetterStatus> {
  destination: string;
}

export interface DeadLetterFilter extends DeadLetterSelection {
  status?: DeadLetterStatus | 'all';
}

const columns = `id, type, version, source, subject, partition_key, shard, destination, payload::text AS payload,
  headers, correlation_id, causation_id, user_id, session_id, tags, traceparent, tracestate, created_at,
  xid::text AS xid, seq::text AS seq,
  error_code, error_message, attempts, first_failed_at, failed_at, status, resolved_at, retry_error`;

/** Records (or, for an event already there, updates) a dead letter: a copy of the log row and why. */
export async function insertDeadLetter(
  db: Queryable,
  schema: string,
  row: LogRow,
  destination: string,
  error: { code: string; message: string },
  attempts: number,
  firstFailedAt: Date,
): Promise<void> {
  await db.query(
    `INSERT INTO ${quoteIdent(schema)}.dead_letters (id, xid, seq, type, version, source, subject, partition_key, shard,
  destination, payload, headers, correlation_id, causation_id, traceparent, tracestate, created_at, error_code,
  error_message, attempts, first_failed_at, user_id, session_id, tags)
VALUES ($1, $2::xid8, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13, $14, $15, $16, $17, $18, $19, $20, $21,
  $22, $23, $24::text[])
ON CONFLICT (id) DO UPDATE SET error_code = EXCLUDED.error_code, error_message = EXCLUDED.error_message,
  attempts = dead_letters.attempts + EXCLUDED.attempts, failed_at = now(), status = 'pending', resolved_at = NULL`,
    [
      row.id,
      row.xid,
      row.seq,
      row.type,
      row.version,
      row.source,
      row.subject,
      row.partition_key,
      row.shard,
      destination,
      row.payload,
      JSON.stringify(row.headers),
      row.correlation_id,
      row.causation_id,
      row.traceparent,
      row.tracestate,
      row.created_at,
      error.code,
      storableText(error.message, 8_000),
      attempts,
      firstFailedAt,
      row.user_id ?? null,
      row.session_id ?? null,
      row.tags ?? null,
    ],
  );
}

const where = (filter: DeadLetterFilter) =>
  selectionWhere(filter, { id: 'id', idType: 'uuid', type: 'type', key: 'partition_key' });

export async function listDeadLetters(
  db: Queryable,
  schema: string,
  filter: DeadLetterFilter,
): Promise<DeadLetterRow[]> {
  const w = where(filter);
  w.values.push(filter.limit ?? 100);
  const result = await db.query<DeadLetterRow>(
    `SELECT ${columns} FROM ${quoteIdent(schema)}.dead_letters ${w.sql} ORDER BY failed_at, xid, seq LIMIT $${w.values.length}`,
    w.values,
  );
  return result.rows;
}

export async function resolveDeadLetter(
  db: Queryable,
  schema: string,
  id: string,
  outcome: { status: 'retried' | 'discarded' } | { retryError: string },
): Promise<void> {
  if ('retryError' in outcome) {
    await db.query(`UPDATE ${quoteIdent(schema)}.dead_letters SET retry_error = $2, failed_at = now() WHERE id = $1`, [
      id,
      storableText(outcome.retryError, 8_000),
    ]);
    return;
  }
  await db.query(
    `UPDATE ${quoteIdent(schema)}.dead_letters SET status = $2, resolved_at = now(), retry_error = NULL WHERE id = $1`,
    [id, outcome.status],
  );
}
