import type { Queryable } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';

/** Herald's schema registry tables (migration 0011): the statements, one place. */
export interface SchemaRow {
  id: string;
  subject: string;
  version: number;
  format: string;
  schema: string;
}

const columns = 'id::text AS id, subject, version, format, schema';

export async function insertSchema(
  tx: Queryable,
  schema: string,
  row: { subject: string; format: string; text: string; fingerprint: string },
): Promise<SchemaRow> {
  const s = quoteIdent(schema);
  // One writer per subject at a time: versions are numbered without gaps, in order.
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`herald.schema:${schema}:${row.subject}`]);
  const found = await tx.query<SchemaRow>(
    `SELECT ${columns} FROM ${s}.schemas WHERE subject = $1 AND format = $2 AND fingerprint = $3`,
    [row.subject, row.format, row.fingerprint],
  );
  if (found.rows[0]) return found.rows[0];
  const inserted = await tx.query<SchemaRow>(
    `INSERT INTO ${s}.schemas (subject, version, format, schema, fingerprint)
     SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4 FROM ${s}.schemas WHERE subject = $1
     RETURNING ${columns}`,
    [row.subject, row.format, row.text, row.fingerprint],
  );
  return inserted.rows[0] as SchemaRow;
}

export async function findSchema(
  db: Queryable,
  schema: string,
  where: { subject?: string; format?: string; fingerprint?: string; id?: number },
): Promise<SchemaRow[]> {
  const conditions: string[] = [];
  const values: unknown[] = [];
  for (const [column, value] of Object.entries(where)) {
    if (value === undefined) continue;
    values.push(value);
    conditions.push(`${column} = $${values.length}`);
  }
  const filter = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
  const result = await db.query<SchemaRow>(
    `SELECT ${columns} FROM ${quoteIdent(schema)}.schemas ${filter} ORDER BY subject, version`,
    values,
  );
  return result.rows;
}

export async function listSubjects(db: Queryable, schema: string): Promise<string[]> {
  const s = quoteIdent(schema);
  const result = await db.query<{ subject: string }>(
    `SELECT subject FROM ${s}.schemas UNION SELECT subject FROM ${s}.schema_subjects ORDER BY subject`,
  );
  return result.rows.map((r) => r.subject);
}

export async function readCompatibility(db: Queryable, schema: string, subject: string): Promise<string | undefined> {
  const result = await db.query<{ compatibility: string }>(
    `SELECT compatibility FROM ${quoteIdent(schema)}.schema_subjects WHERE subject = $1`,
    [subject],
  );
  return result.rows[0]?.compatibility;
}

export async function writeCompatibility(db: Queryable, schema: string, subject: string, mode: string): Promise<void> {
  await db.query(
    `INSERT INTO ${quoteIdent(schema)}.schema_subjects (subject, compatibility) VALUES ($1, $2)
     ON CONFLICT (subject) DO UPDATE SET compatibility = excluded.compatibility, updated_at = now()`,
    [subject, mode],
  );
}
