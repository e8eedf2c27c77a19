import { type DatabaseOption, openPool, resolveDatabase, toDatabaseError } from './connect.ts';
import type { Queryable } from './db.ts';
import { resolveSchema } from './identifiers.ts';

/**
 * The database side of an API over Herald's tables: the herald schema, a pool (or the caller's
 * client, used as it is), errors mapped to HERALD_DATABASE_UNAVAILABLE, and a close that ends
 * only a pool it opened.
 */
export function openDatabase(option: DatabaseOption | Queryable | undefined, schemaOption: string | undefined) {
  const schema = resolveSchema(schemaOption).name;
  const db =
    option !== undefined && typeof option !== 'string' && !('connect' in option) ? option : resolveDatabase(option);
  const isPool = typeof db === 'string' || 'connect' in db;
  const { pool, owned, target } = isPool
    ? openPool(db as DatabaseOption, 2)
    : { pool: db as Queryable, owned: false, target: 'the given client' };
  return {
    schema,
    pool,
    async guard<T>(fn: () => Promise<T>): Promise<T> {
      try {
        return await fn();
      } catch (error) {
        throw toDatabaseError(error, target);
      }
    },
    async close() {
      if (owned) await (pool as { end?(): Promise<void> }).end?.();
    },
  };
}
