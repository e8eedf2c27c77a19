/**
 * One fixture per database client: its own database object on the test PostgreSQL, its own way
 * of opening a transaction, and a business write (a row in `effects`) through its own query API,
 * not raw SQL, so the suite proves Herald and the client share one transaction.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { TransactionSql } from 'postgres';
import { withTransaction } from '../../src/store/connect.ts';
import type { Queryable } from '../../src/store/db.ts';
import { databaseUrl } from '../support/env.ts';

export interface OpenClient {
  /** The client's database object, as an application holds it. */
  db: object;
  /** A handle of the client that is not in a transaction (outbox.add must refuse it). */
  outside: object;
  transaction<T>(fn: (tx: unknown) => Promise<T>): Promise<T>;
  /** Inserts (eventId, note) into `<schema>.effects` through the client's own API, in `tx`. */
  insertEffect(tx: unknown, eventId: string, note: string): Promise<void>;
  close(): Promise<void>;
}

export interface ClientFixture {
  name: string;
  /** Whether a consumer on it takes `groupCommit.pipeline` (its transaction is a connection). */
  pipeline: boolean;
  /** `max`: connections the client may open (default 6). */
  open(schema: string, max?: number): Promise<OpenClient>;
}

export const effectsTable = (schema: string) =>
  `CREATE TABLE "${schema}".effects (id bigserial PRIMARY KEY, event_id text NOT NULL, note text NOT NULL)`;

export const nodePostgres: ClientFixture = {
  name: 'node-postgres',
  pipeline: true,
  async open(schema, max = 6) {
    const pool = new pg.Pool({ connectionString: databaseUrl, max });
    return {
      db: pool,
      outside: { notATransaction: true },
      transaction: (fn) => withTransaction(pool, (tx) => fn(tx)),
      insertEffect: async (tx, eventId, note) => {
        await (tx as Queryable).query(`INSERT INTO "${schema}".effects (event_id, note) VALUES ($1, $2)`, [
          eventId,
          note,
        ]);
      },
      close: () => pool.end(),
    };
  },
};

export const postgresJs: ClientFixture = {
  name: 'postgres.js',
  pipeline: true,
  async open(schema, max = 6) {
    const { default: postgres } = await import('postgres');
    const sql = postgres(databaseUrl, { max, onnotice: () => {} });
    type Tx = TransactionSql;
    return {
      db: sql,
      outside: sql,
      transaction: (fn) => sql.begin((tx) => fn(tx)) as Promise<never>,
      insertEffect: async (tx, eventId, note) => {
        const t = tx as Tx;
        await t`INSERT INTO ${t(`${schema}.effects`)} ${t({ event_id: eventId, note })}`;
      },
      close: () => sql.end(),
    };
  },
};

interface KyselyDb {
  effects: { id: import('kysely').Generated<string>; eventId: string; note: string };
}

export const kysely: ClientFixture = {
  name: 'Kysely',
  pipeline: true,
  async open(schema, max = 6) {
    const { Kysely, PostgresDialect, CamelCasePlugin } = await import('kysely');
    const pool = new pg.Pool({ connectionString: databaseUrl, max });
    // CamelCasePlugin renames result columns: Herald's statements must not go through it.
    const db = new Kysely<KyselyDb>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()] });
    type Tx = import('kysely').Transaction<KyselyDb>;
    return {
      db,
      outside: db,
      transaction: (fn) => db.transaction().execute((tx) => fn(tx)),
      insertEffect: async (tx, eventId, note) => {
        await (tx as Tx).withSchema(schema).insertInto('effects').values({ eventId, note }).execute();
      },
      close: () => db.destroy(),
    };
  },
};

/** Drizzle over either driver: the same table definition, transaction and insert. */
async function drizzleClient(
  schema: string,
  db: import('drizzle-orm/pg-core').PgDatabase<import('drizzle-orm/pg-core').PgQueryResultHKT>,
  close: () => Promise<void>,
): Promise<OpenClient> {
  const { pgSchema, bigserial, text } = await import('drizzle-orm/pg-core');
  const effects = pgSchema(schema).table('effects', {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    eventId: text('event_id').notNull(),
    note: text('note').notNull(),
  });
  type Tx = Parameters<Parameters<typeof db.transaction>[0]>[0];
  return {
    db,
    outside: db,
    transaction: (fn) => db.transaction((tx) => fn(tx)),
    insertEffect: async (tx, eventId, note) => {
      await (tx as Tx).insert(effects).values({ eventId, note });
    },
    close,
  };
}

export const drizzleNodePostgres: ClientFixture = {
  name: 'Drizzle on node-postgres',
  pipeline: true,
  async open(schema, max = 6) {
    const { drizzle } = await import('drizzle-orm/node-postgres');
    const pool = new pg.Pool({ connectionString: databaseUrl, max });
    return drizzleClient(schema, drizzle(pool), () => pool.end());
  },
};

export const drizzlePostgresJs: ClientFixture = {
  name: 'Drizzle on postgres.js',
  pipeline: true,
  async open(schema, max = 6) {
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { default: postgres } = await import('postgres');
    const sql = postgres(databaseUrl, { max, onnotice: () => {} });
    return drizzleClient(schema, drizzle(sql), () => sql.end());
  },
};

export const knex: ClientFixture = {
  name: 'Knex',
  pipeline: true,
  async open(schema, max = 6) {
    const { default: Knex } = await import('knex');
    const db = Knex({ client: 'pg', connection: databaseUrl, pool: { min: 0, max } });
    return {
      db,
      outside: db,
      transaction: (fn) => db.transaction((trx) => fn(trx)),
      insertEffect: async (tx, eventId, note) => {
        await (tx as import('knex').Knex.Transaction)
          .withSchema(schema)
          .insert({ event_id: eventId, note })
          .into('effects');
      },
      close: () => db.destroy(),
    };
  },
};

/** The part of the generated Prisma client the suite uses (generated at run time, not committed). */
interface PrismaLike {
  $transaction<T>(fn: (tx: PrismaTx) => Promise<T>): Promise<T>;
  $disconnect(): Promise<void>;
}
interface PrismaTx {
  effect: { create(args: { data: { eventId: string; note: string } }): Promise<unknown> };
}

const prismaDir = fileURLToPath(new URL('./prisma/', import.meta.url));

/**
 * Generates a Prisma client once, from `<dir>/prisma.config.ts` into `<dir>/generated/`.
 * `prisma generate` wants to download its schema engine, which generating does not use: pointing
 * PRISMA_SCHEMA_ENGINE_BINARY anywhere skips the download, so it works with the npm registry alone.
 */
export function generatePrisma(dir = prismaDir): string {
  const client = `${dir}generated/client.ts`;
  if (!existsSync(client)) {
    execFileSync(
      process.execPath,
      [
        fileURLToPath(new URL('../../node_modules/prisma/build/index.js', import.meta.url)),
        'generate',
        '--config',
        `${dir}prisma.config.ts`,
      ],
      { cwd: dir, stdio: 'pipe', env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true' } },
    );
  }
  return client;
}

export const prisma: ClientFixture = {
  name: 'Prisma',
  pipeline: false,
  async open(schema, max = 6) {
    const generated = generatePrisma();
    const { PrismaClient } = (await import(generated)) as { PrismaClient: new (o: object) => PrismaLike };
    const { PrismaPg } = await import('@prisma/adapter-pg');
    const db = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max }, { schema }) });
    return {
      db,
      outside: db,
      transaction: (fn) => db.$transaction((tx) => fn(tx)),
      insertEffect: async (tx, eventId, note) => {
        await (tx as PrismaTx).effect.create({ data: { eventId, note } });
      },
      close: () => db.$disconnect(),
    };
  },
};

export const typeorm: ClientFixture = {
  name: 'TypeORM',
  pipeline: false,
  async open(schema, max = 6) {
    const { DataSource, EntitySchema } = await import('typeorm');
    const Effect = new EntitySchema<{ id: string; eventId: string; note: string }>({
      name: 'Effect',
      tableName: 'effects',
      schema,
      columns: {
        id: { type: 'bigint', primary: true, generated: true },
        eventId: { type: 'text', name: 'event_id' },
        note: { type: 'text' },
      },
    });
    const db = new DataSource({ type: 'postgres', url: databaseUrl, entities: [Effect], extra: { max } });
    await db.initialize();
    return {
      db,
      outside: db.manager,
      transaction: (fn) => db.transaction((manager) => fn(manager)),
      insertEffect: async (tx, eventId, note) => {
        await (tx as import('typeorm').EntityManager).getRepository(Effect).insert({ eventId, note });
      },
      close: () => db.destroy(),
    };
  },
};

export const mikroOrm: ClientFixture = {
  name: 'MikroORM',
  pipeline: false,
  async open(schema, max = 6) {
    const { MikroORM, EntitySchema } = await import('@mikro-orm/postgresql');
    const Effect = new EntitySchema<{ id: string; eventId: string; note: string }>({
      name: 'Effect',
      tableName: 'effects',
      schema,
      properties: {
        id: { type: 'bigint', primary: true },
        eventId: { type: 'string', fieldName: 'event_id' },
        note: { type: 'string' },
      },
    });
    const orm = await MikroORM.init({ clientUrl: databaseUrl, entities: [Effect], pool: { max } });
    return {
      db: orm.em,
      outside: orm.em,
      transaction: (fn) => orm.em.transactional((em) => fn(em)),
      insertEffect: async (tx, eventId, note) => {
        await (tx as typeof orm.em).insert(Effect, { eventId, note });
      },
      close: () => orm.close(),
    };
  },
};

export const sequelize: ClientFixture = {
  name: 'Sequelize',
  pipeline: false,
  async open(schema, max = 6) {
    const { Sequelize, DataTypes } = await import('sequelize');
    const db = new Sequelize(databaseUrl, { logging: false, pool: { max } });
    const Effect = db.define(
      'Effect',
      {
        id: { type: DataTypes.BIGINT, autoIncrement: true, primaryKey: true },
        eventId: { type: DataTypes.TEXT, field: 'event_id' },
        note: { type: DataTypes.TEXT },
      },
      { tableName: 'effects', schema, timestamps: false },
    );
    return {
      db,
      outside: db,
      transaction: (fn) => db.transaction((t) => fn(t)),
      insertEffect: async (tx, eventId, note) => {
        await Effect.create({ eventId, note }, { transaction: tx as import('sequelize').Transaction });
      },
      close: () => db.close(),
    };
  },
};
