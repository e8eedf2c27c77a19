import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { HeraldError } from '../errors.ts';
import { type PoolLike, withTransaction } from './connect.ts';
import type { Queryable } from './db.ts';
import { quoteIdent, resolveSchema } from './identifiers.ts';

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

/** sha256 of a migration file's text as released: the ledger keeps it to see a file edited later. */
export function checksumOf(migration: Migration): string {
  return createHash('sha256').update(migration.sql).digest('hex');
}

const migrationsDir = new URL('../../migrations/', import.meta.url);
const fileName = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Reads `migrations/NNNN_name.sql` in order. Released files are never edited; add a new one. */
export async function loadMigrations(): Promise<Migration[]> {
  const files = (await readdir(migrationsDir)).filter((f) => fileName.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const [, id, name] = fileName.exec(file) as RegExpExecArray;
      return { id: Number(id), name: name as string, sql: await readFile(new URL(file, migrationsDir), 'utf8') };
    }),
  );
}

/**
 * `{{schema}}` becomes the quoted identifier; `{{schema_name}}` the bare name, for format('%I')
 * inside PL/pgSQL. Both come from a name `quoteIdent` has validated.
 */
export function renderMigration(migration: Migration, schema: string): string {
  return migration.sql.replaceAll('{{schema}}', quoteIdent(schema)).replaceAll('{{schema_name}}', schema);
}

function ledgerSql(s: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.migrations (
  id integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE ${s}.migrations ADD COLUMN IF NOT EXISTS checksum text`;
}

async function appliedIds(db: Queryable, schema: string): Promise<Set<number>> {
  const exists = await db.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [
    `${quoteIdent(schema)}.migrations`,
  ]);
  if (!exists.rows[0]?.ok) return new Set();
  const rows = await db.query<{ id: number }>(`SELECT id FROM ${quoteIdent(schema)}.migrations`);
  return new Set(rows.rows.map((r) => r.id));
}

export interface MigrateOptions {
  schema?: string;
  /** Report what would run, with its SQL, and change nothing. */
  dryRun?: boolean;
  /** Stop after this migration id (to test upgrades of older installs). */
  to?: number;
  onApply?: (migration: Migration) => void;
}

export interface MigrateResult {
  applied: Migration[];
  pending: Migration[];
  /** The SQL that ran (or, in a dry run, would run), in order. */
  sql: string[];
}

/**
 * Applies pending migrations, each in its own transaction. A transaction-scoped advisory lock
 * serialises concurrent migrators (safe behind transaction-mode poolers, unlike session locks);
 * each re-reads the ledger under the lock, so a migration never runs twice.
 */
export async function migrate(pool: PoolLike, options: MigrateOptions = {}): Promise<MigrateResult> {
  const { name: schema, quoted: s } = resolveSchema(options.schema);
  const all = await loadMigrations();
  const done = await appliedIds(pool, schema);
  const pending = all.filter((m) => !done.has(m.id) && (options.to === undefined || m.id <= options.to));
  const sql = pending.map((m) => renderMigration(m, schema));
  if (options.dryRun) return { applied: [], pending, sql };

  const applied: Migration[] = [];
  for (const migration of pending) {
    await withTransaction(pool, async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`herald.migrate:${schema}`]);
      await tx.query(ledgerSql(s));
      const again = await tx.query(`SELECT 1 FROM ${s}.migrations WHERE id = $1`, [migration.id]);
      if (again.rows.length > 0) return; // another migrator applied it while we waited
      try {
        await tx.query(renderMigration(migration, schema));
      } catch (error) {
        throw new HeraldError(
          'HERALD_MIGRATION_FAILED',
          `migration ${String(migration.id).padStart(4, '0')}_${migration.name} failed: ${(error as Error).message}`,
          { cause: error },
        );
      }
      await tx.query(`INSERT INTO ${s}.migrations (id, name, checksum) VALUES ($1, $2, $3)`, [
        migration.id,
        migration.name,
        checksumOf(migration),
      ]);
      applied.push(migration);
      options.onApply?.(migration);
    });
  }
  return { applied, pending, sql };
}

/** Throws HERALD_NOT_MIGRATED unless every migration this version knows has been applied. */
export async function assertMigrated(db: Queryable, schema: string): Promise<void> {
  const all = await loadMigrations();
  const done = await appliedIds(db, schema);
  const missing = all.filter((m) => !done.has(m.id));
  if (missing.length > 0) {
    throw new HeraldError(
      'HERALD_NOT_MIGRATED',
      `schema "${schema}" lacks ${missing.length} migration(s) (first: ${missing[0]?.name}); run \`herald migrate --schema ${schema}\``,
      { details: { schema, missing: missing.map((m) => m.id) } },
    );
  }
}
