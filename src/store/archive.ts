import type { Keep } from '../config/keep.ts';
import type { Queryable } from './db.ts';
import { quoteIdent } from './identifiers.ts';

export type { Keep } from '../config/keep.ts';

/** Whether any event is archived: some type kept for more than zero days. */
export function keepsAny(keep: Keep): boolean {
  return Object.values(keep).some((days) => days !== 0);
}

/** The types a dropped partition's rows are copied for: all (`'*'` kept) or those named. */
export function keptTypes(keep: Keep): { all: boolean; types: string[] } {
  const star = keep['*'];
  return {
    all: star !== undefined && star !== 0,
    types: Object.entries(keep)
      .filter(([type, days]) => type !== '*' && days !== 0)
      .map(([type]) => type),
  };
}

/** The archive's columns, quoted, in its order: a copy names them on both sides. */
export async function archiveColumns(db: Queryable, schema: string): Promise<string> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute
WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [`${quoteIdent(schema)}.log_archive`],
  );
  return rows.map((r) => quoteIdent(r.name, 'column')).join(', ');
}

const dayMs = 86_400_000;
const expireChunk = 10_000;

/**
 * Deletes archived events past their type's days (`'*'`'s days for types not named), in chunks.
 * Types kept 'forever' are never touched; events of a type no longer named and no `'*'` stay.
 */
export async function expireArchive(db: Queryable, schema: string, keep: Keep, now: Date): Promise<number> {
  const s = quoteIdent(schema);
  const named = Object.keys(keep).filter((t) => t !== '*');
  const rules: { sql: string; values: unknown[] }[] = [];
  for (const [type, days] of Object.entries(keep)) {
    if (days === 'forever') continue;
    const cutoff = new Date(now.getTime() - days * dayMs);
    rules.push(
      type === '*'
        ? { sql: 'type <> ALL($2::text[]) AND logged_at < $1', values: [cutoff, named] }
        : { sql: 'type = $2 AND logged_at < $1', values: [cutoff, type] },
    );
  }
  let expired = 0;
  for (const rule of rules) {
    for (;;) {
      const { rowCount } = await db.query(
        `DELETE FROM ${s}.log_archive WHERE ctid IN (SELECT ctid FROM ${s}.log_archive WHERE ${rule.sql} LIMIT ${expireChunk})`,
        rule.values,
      );
      expired += rowCount ?? 0;
      if ((rowCount ?? 0) < expireChunk) break;
    }
  }
  return expired;
}
