import type { Queryable } from './db.ts';
import { quoteIdent, resolveSchema } from './identifiers.ts';
import { checksumOf, loadMigrations, type Migration } from './migrate.ts';

export interface AppliedMigration {
  id: number;
  name: string;
  appliedAt: Date;
  /**
   * `ok`: the file is as it was applied; `changed`: the file was edited after it was applied
   * (released migrations are never edited: the database and the file disagree); `unknown`: applied
   * before the ledger kept checksums; `missing`: the ledger names a migration this version lacks
   * (a newer Herald migrated this schema).
   */
  file: 'ok' | 'changed' | 'unknown' | 'missing';
}

export interface MigrationStatus {
  schema: string;
  applied: AppliedMigration[];
  pending: Pick<Migration, 'id' | 'name'>[];
  /** No migration pending and no applied file changed or missing. */
  upToDate: boolean;
}

/** What `herald migrate status` reports: applied (with checksum drift), pending. Changes nothing. */
export async function migrationStatus(db: Queryable, options: { schema?: string } = {}): Promise<MigrationStatus> {
  const schema = resolveSchema(options.schema).name;
  const s = quoteIdent(schema);
  const all = await loadMigrations();
  const exists = await db.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [`${s}.migrations`]);
  // to_jsonb(m)->>'checksum': ledgers written before checksums existed have no such column.
  const rows = exists.rows[0]?.ok
    ? (
        await db.query<{ id: number; name: string; applied_at: Date; checksum: string | null }>(
          `SELECT m.id, m.name, m.applied_at, to_jsonb(m)->>'checksum' AS checksum FROM ${s}.migrations m ORDER BY m.id`,
        )
      ).rows
    : [];
  const known = new Map(all.map((m) => [m.id, m]));
  const applied = rows.map((r): AppliedMigration => {
    const file = known.get(r.id);
    const state = !file
      ? 'missing'
      : r.checksum === null
        ? 'unknown'
        : r.checksum === checksumOf(file)
          ? 'ok'
          : 'changed';
    return { id: r.id, name: r.name, appliedAt: r.applied_at, file: state };
  });
  const done = new Set(rows.map((r) => r.id));
  const pending = all.filter((m) => !done.has(m.id)).map(({ id, name }) => ({ id, name }));
  const upToDate = pending.length === 0 && applied.every((a) => a.file === 'ok' || a.file === 'unknown');
  return { schema, applied, pending, upToDate };
}
