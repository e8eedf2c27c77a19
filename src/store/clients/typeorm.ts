/**
 * TypeORM: `dataSource.transaction(async (manager) => …)` gives an EntityManager whose
 * `queryRunner` holds the transaction; a QueryRunner after `startTransaction()` works too.
 * Statements go through `queryRunner.query(text, values, true)`, the structured result with
 * the rows and the count of rows changed.
 */
import type { Queryable } from '../db.ts';
import { type ClientAdapter, has, port } from './types.ts';

export interface TypeOrmEntityManagerLike {
  query(query: string, parameters?: never[]): Promise<unknown>;
  readonly queryRunner?: unknown;
}

interface RunnerLike {
  isTransactionActive: boolean;
  query(
    text: string,
    values: unknown[],
    structured: true,
  ): Promise<{ records?: Record<string, unknown>[]; affected?: number }>;
  release(): Promise<void>;
}

const isManager = (v: object) => (v as Record<string, unknown>)['@instanceof'] === Symbol.for('EntityManager');
const isRunner = (v: object) => has(v, 'query') && has(v, 'startTransaction') && 'isTransactionActive' in v;
const runnerOf = (v: object): RunnerLike | undefined =>
  isManager(v)
    ? (v as { queryRunner?: RunnerLike }).queryRunner
    : isRunner(v)
      ? (v as unknown as RunnerLike)
      : undefined;

function runnerPort(runner: () => Promise<RunnerLike>, done: (r: RunnerLike) => Promise<void>): Queryable {
  return port('typeorm', async (text, values) => {
    const r = await runner();
    try {
      const result = await r.query(text, values, true);
      const rows = result.records ?? [];
      return { rows, rowCount: result.affected ?? rows.length };
    } finally {
      await done(r);
    }
  });
}

export function typeormPort(tx: object): Queryable {
  const r = runnerOf(tx) as RunnerLike;
  return runnerPort(
    async () => r,
    async () => {},
  );
}

export const typeorm: ClientAdapter = {
  client: 'typeorm',
  isTransaction: (v) => runnerOf(v)?.isTransactionActive === true,
  isOutsideTransaction: (v) => isManager(v) || isRunner(v),
  wrap: typeormPort,
  isDatabase: (v) => (v as Record<string, unknown>)['@instanceof'] === Symbol.for('DataSource'),
  database(db) {
    const ds = db as unknown as {
      createQueryRunner(): RunnerLike;
      transaction<T>(fn: (manager: object) => Promise<T>): Promise<T>;
    };
    return {
      client: 'typeorm',
      query: runnerPort(
        async () => ds.createQueryRunner(),
        (r) => r.release(),
      ).query,
      transaction: (fn) => ds.transaction((manager) => fn(manager, typeormPort(manager))),
    };
  },
};
