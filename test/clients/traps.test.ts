/**
 * The known traps of particular clients, on real PostgreSQL: Knex rewrites `?` (a jsonb operator
 * must survive), postgres.js arrays under Drizzle's serializers (quotes, backslashes, NULL).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { transactionPort } from '../../src/store/clients/index.ts';
import { databaseUrl } from '../support/env.ts';

describe('client traps', () => {
  it('Knex: `?` in Herald’s SQL is an operator, not a placeholder; `$n` bind in any order', async () => {
    const { default: Knex } = await import('knex');
    const knex = Knex({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 1 } });
    try {
      const rows = await knex.transaction(async (trx) => {
        const port = transactionPort(trx);
        const r = await port.query<{ has: boolean; any: boolean; second: string; first: string }>(
          `SELECT $2::jsonb ? 'a' AS has, $2::jsonb ?| array['x', 'b'] AS any, $3::text AS second, $1::text AS first`,
          ['one', '{"a": 1, "b": 2}', 'two'],
        );
        return r.rows;
      });
      assert.deepEqual(rows, [{ has: true, any: true, second: 'two', first: 'one' }]);
    } finally {
      await knex.destroy();
    }
  });

  it('postgres.js under Drizzle: text arrays with quotes, backslashes and NULL arrive as they were', async () => {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    const db = drizzle(sql);
    const values = ['plain', 'with "quotes"', 'back\\slash', null, '{braces}, commas'];
    const at = new Date('2026-01-02T03:04:05.678Z');
    try {
      const row = await db.transaction(async (tx) => {
        // As JSON: postgres.js' own array parser reads an unquoted NULL back as the text 'NULL'.
        const r = await transactionPort(tx).query<{ v: (string | null)[]; t: string[] }>(
          'SELECT array_to_json($1::text[]) AS v, array_to_json($2::timestamptz[]) AS t',
          [values, [at]],
        );
        return r.rows[0];
      });
      assert.deepEqual(row?.v, values);
      assert.equal(new Date(row?.t[0] as string).getTime(), at.getTime());
    } finally {
      await sql.end();
    }
  });
});

describe('a TypeORM QueryRunner outlives its transactions', () => {
  it('is taken while its transaction is active, refused after the commit', async () => {
    const { DataSource } = await import('typeorm');
    const { createOutbox, defineEvent } = await import('../../src/index.ts');
    const { z } = await import('zod');
    const Pinged = defineEvent({ type: 'ping', version: 1, schema: z.object({ n: z.number() }), key: () => 'k' });
    const db = new DataSource({ type: 'postgres', url: databaseUrl, extra: { max: 1 } });
    await db.initialize();
    const runner = db.createQueryRunner();
    try {
      await runner.startTransaction();
      assert.equal(transactionPort(runner), transactionPort(runner), 'the same port while active');
      await runner.commitTransaction();
      // Outside its transaction the runner would autocommit: refused before anything is written.
      await assert.rejects(createOutbox({ schema: 'herald_none' }).add(runner, Pinged({ n: 1 })), {
        code: 'HERALD_NO_TRANSACTION',
      });
    } finally {
      await runner.release();
      await db.destroy();
    }
  });
});
