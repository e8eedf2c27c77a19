/**
 * Prisma 7 with a driver adapter (`@prisma/adapter-pg`): `prisma.$transaction(async (tx) => …)`,
 * the interactive form. The transaction client has `$queryRawUnsafe` but, unlike PrismaClient,
 * no `$connect`.
 * Statements that return rows go through `$queryRawUnsafe`; others through `$executeRawUnsafe`,
 * which gives the count of rows changed. int8 values come back as strings, as node-postgres
 * gives them, not as BigInt.
 */
import type { Queryable } from '../db.ts';
import { type ClientAdapter, has, port } from './types.ts';

export interface PrismaTransactionLike {
  $queryRawUnsafe(query: string, ...values: never[]): PromiseLike<unknown>;
  $executeRawUnsafe(query: string, ...values: never[]): PromiseLike<unknown>;
}

interface Raw {
  $queryRawUnsafe(query: string, ...values: unknown[]): Promise<Record<string, unknown>[]>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

const returnsRows = (text: string) =>
  /^\s*(select|with|values|show|table)\b/i.test(text) || /\breturning\b/i.test(text);

const asPg = (row: Record<string, unknown>) => {
  for (const [k, v] of Object.entries(row)) if (typeof v === 'bigint') row[k] = v.toString();
  return row;
};

export function prismaPort(client: object): Queryable {
  const raw = client as Raw;
  return port('prisma', async (text, values) => {
    if (returnsRows(text)) {
      const rows = (await raw.$queryRawUnsafe(text, ...values)).map(asPg);
      return { rows, rowCount: rows.length };
    }
    return { rows: [], rowCount: await raw.$executeRawUnsafe(text, ...values) };
  });
}

const prismaLike = (v: object) => has(v, '$queryRawUnsafe') && has(v, '$executeRawUnsafe');

export const prisma: ClientAdapter = {
  client: 'prisma',
  isTransaction: (v) => prismaLike(v) && !has(v, '$connect'),
  isOutsideTransaction: prismaLike,
  wrap: prismaPort,
  isDatabase: (v) => prismaLike(v) && has(v, '$connect') && has(v, '$transaction'),
  database(db) {
    const p = db as unknown as { $transaction<T>(fn: (tx: object) => Promise<T>): Promise<T> };
    return {
      client: 'prisma',
      query: prismaPort(db).query,
      transaction: (fn) => p.$transaction((tx) => fn(tx, prismaPort(tx))),
    };
  },
};
