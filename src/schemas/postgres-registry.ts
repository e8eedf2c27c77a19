import { invalidSetting } from '../config/check.ts';
import { HeraldError } from '../errors.ts';
import { type DatabaseOption, type PoolLike, withTransaction } from '../store/connect.ts';
import type { Queryable } from '../store/db.ts';
import { openDatabase } from '../store/open.ts';
import {
  findSchema,
  insertSchema,
  listSubjects,
  readCompatibility,
  type SchemaRow,
  writeCompatibility,
} from '../store/sql/schemas.ts';
import { canonicalSchema, fingerprint } from './fingerprint.ts';
import {
  type CompatibilityMode,
  compatibilityModes,
  type RegisteredSchema,
  type SchemaFormat,
  type SchemaRegistry,
} from './registry.ts';

export interface PostgresRegistryOptions {
  /** A connection string or a pool; default `DATABASE_URL`. */
  db?: DatabaseOption;
  /** The herald schema (migration 0011 made its tables); default `HERALD_SCHEMA` or `herald`. */
  schema?: string;
}

const toRegistered = (row: SchemaRow): RegisteredSchema => ({
  subject: row.subject,
  version: row.version,
  id: Number(row.id),
  format: row.format as SchemaFormat,
  schema: row.schema,
});

/**
 * Herald's own schema registry, in PostgreSQL (tables `schemas` and `schema_subjects` of the
 * herald schema). Schemas are stored canonical (keys sorted), so the same schema registered twice,
 * however spaced, is one version. It stores; Herald's checker decides compatibility before a
 * push registers (src/schemas/contracts.ts), as it does for a Confluent-compatible registry.
 */
export function createPostgresRegistry(options: PostgresRegistryOptions = {}): SchemaRegistry {
  const { schema, pool, guard, close } = openDatabase(options.db, options.schema);
  return {
    register: (subject, format, text) =>
      guard(async () => {
        const canonical = canonicalSchema(text);
        const row = await withTransaction(pool as PoolLike, (tx: Queryable) =>
          insertSchema(tx, schema, { subject, format, text: canonical, fingerprint: fingerprint(canonical) }),
        );
        return toRegistered(row);
      }),
    lookup: (subject, format, text) =>
      guard(async () => {
        const [row] = await findSchema(pool, schema, { subject, format, fingerprint: fingerprint(text) });
        return row && toRegistered(row);
      }),
    subjects: () => guard(() => listSubjects(pool, schema)),
    versions: (subject) => guard(async () => (await findSchema(pool, schema, { subject })).map(toRegistered)),
    byId: (id) =>
      guard(async () => {
        const [row] = Number.isSafeInteger(id) ? await findSchema(pool, schema, { id }) : [];
        if (!row) throw new HeraldError('HERALD_UNKNOWN_SCHEMA', `no schema has id ${id}`, { details: { id } });
        return toRegistered(row);
      }),
    getCompatibility: (subject) =>
      guard(async () => (await readCompatibility(pool, schema, subject)) as CompatibilityMode | undefined),
    setCompatibility: (subject, mode) =>
      guard(async () => {
        if (!compatibilityModes.includes(mode)) {
          throw invalidSetting('compatibility', `must be one of ${compatibilityModes.join(', ')}`, mode);
        }
        await writeCompatibility(pool, schema, subject, mode);
      }),
    close,
  };
}
