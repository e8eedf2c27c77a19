/**
 * The known traps of particular clients, on real PostgreSQL: Knex rewrites `?` (a jsonb operator
 * must survive), postgres.js arrays under Drizzle's serializers (quotes, backslashes, NULL).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { transactionPort } from '../../src/store/clients/index.ts';
import { databaseUrl, uniqueName } from '../support/env.ts';
import * as harness from './harness.ts';

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

describe('a transaction object kept after its transaction ended', () => {
  // Drizzle on node-postgres, postgres.js (and Drizzle on it) cannot tell: docs/clients.md says so.
  const fixtures = [
    { fixture: harness.kysely, code: undefined },
    { fixture: harness.knex, code: undefined },
    { fixture: harness.prisma, code: undefined },
    { fixture: harness.mikroOrm, code: 'HERALD_NO_TRANSACTION' },
    { fixture: harness.sequelize, code: 'HERALD_NO_TRANSACTION' },
    { fixture: harness.typeorm, code: 'HERALD_NO_TRANSACTION' },
  ];
  for (const { fixture, code } of fixtures) {
    it(`${fixture.name}: refused or failed, never written with autocommit`, async () => {
      const { createOutbox, defineEvent, migrate } = await import('../../src/index.ts');
      const { z } = await import('zod');
      const pg = (await import('pg')).default;
      const Pinged = defineEvent({ type: 'ping', version: 1, schema: z.object({ n: z.number() }), key: () => 'k' });
      const schema = uniqueName('herald_after');
      const admin = new pg.Pool({ connectionString: databaseUrl, max: 1 });
      await migrate(admin, { schema });
      await admin.query(harness.effectsTable(schema));
      const client = await fixture.open(schema, 2);
      try {
        let kept: unknown;
        await client.transaction(async (tx) => {
          kept = tx;
          await createOutbox({ schema }).add(tx as never, Pinged({ n: 1 }));
        });
        const error = await createOutbox({ schema })
          .add(kept as never, Pinged({ n: 2 }))
          .catch((e: unknown) => e);
        assert.ok(error instanceof Error, 'the late add did not succeed');
        if (code) assert.equal((error as { code?: string }).code, code);
        const rows = await admin.query(`SELECT payload FROM "${schema}".log`);
        assert.deepEqual(
          rows.rows.map((r) => r.payload),
          [{ n: 1 }],
        );
      } finally {
        await client.close();
        await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
        await admin.end();
      }
    });
  }
});
