// `npm run bench -- write --anatomy`: where the log row's cost goes beyond the bare-table floor.
// Each variant inserts a row of the log's shape into a table of its own, adding one feature at a
// time to the one before: the wide row alone, its (xid, seq) key, partition routing, the shard
// from a sub-select on settings, a second btree index, a btree on created_at, and the statement
// trigger that NOTIFYs. Measured here, they decided what migration 0008 keeps (docs/benchmarks.md).
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { quoteIdent } from '../src/store/identifiers.ts';
import type { Variant } from './write.ts';

interface Shape {
  key: boolean;
  partitioned: boolean;
  shardFrom: 'constant' | 'settings' | 'function';
  shardIndex: boolean;
  createdBtree: boolean;
  notify: boolean;
}

const steps: [string, string, Partial<Shape>][] = [
  ['anatomy-wide-row', "the log's columns, no key, shard given", {}],
  ['anatomy-key', '+ primary key (xid, seq) with identity seq', { key: true }],
  ['anatomy-partitioned', '+ partitioned by day (one partition in range)', { partitioned: true }],
  ['anatomy-shard-settings', '+ shard from a sub-select on settings (as 0001–0007)', { shardFrom: 'settings' }],
  ['anatomy-shard-index', '+ btree (shard, xid, seq)', { shardIndex: true }],
  ['anatomy-created-btree', '+ btree (created_at)', { createdBtree: true }],
  ['anatomy-notify', '+ statement trigger with pg_notify (as 0001–0007)', { notify: true }],
  ['anatomy-shard-function', 'the key and partitions, shard from an inlined SQL function (as 0008)', {}],
];

const base: Shape = {
  key: false,
  partitioned: false,
  shardFrom: 'constant',
  shardIndex: false,
  createdBtree: false,
  notify: false,
};

function shapes(): [string, string, Shape][] {
  let shape = base;
  return steps.map(([name, describe, change]) => {
    if (name === 'anatomy-shard-function') {
      return [name, describe, { ...base, key: true, partitioned: true, shardFrom: 'function' }];
    }
    shape = { ...shape, ...change };
    return [name, describe, shape];
  });
}

const columns = `id uuid NOT NULL, type text NOT NULL, version integer NOT NULL, source text NOT NULL,
  subject text, aggregate_type text, aggregate_id text, partition_key text NOT NULL,
  shard integer NOT NULL, destination text, payload jsonb NOT NULL, headers jsonb NOT NULL DEFAULT '{}',
  correlation_id text, causation_id text, traceparent text, tracestate text,
  created_at timestamptz NOT NULL DEFAULT now(), logged_at timestamptz NOT NULL DEFAULT now()`;

async function createTable(admin: pg.Pool, schema: string, table: string, shape: Shape) {
  const s = quoteIdent(schema);
  const t = `${s}.${quoteIdent(table)}`;
  const seq = shape.key ? 'seq bigint GENERATED ALWAYS AS IDENTITY,' : '';
  const key = shape.key ? `, PRIMARY KEY (xid, seq${shape.partitioned ? ', logged_at' : ''})` : '';
  const partition = shape.partitioned ? ' PARTITION BY RANGE (logged_at)' : '';
  await admin.query(
    `CREATE TABLE ${t} (xid xid8 NOT NULL DEFAULT pg_current_xact_id(), ${seq} ${columns}${key})${partition}`,
  );
  if (shape.partitioned) {
    await admin.query(
      `CREATE TABLE ${s}.${quoteIdent(`${table}_p`)} PARTITION OF ${t}
FOR VALUES FROM (now() - interval '1 day') TO (now() + interval '1 day')`,
    );
  }
  if (shape.shardIndex) await admin.query(`CREATE INDEX ON ${t} (shard, xid, seq)`);
  if (shape.createdBtree) await admin.query(`CREATE INDEX ON ${t} (created_at)`);
  if (shape.notify) {
    await admin.query(`CREATE TRIGGER ${quoteIdent(`${table}_notify`)} AFTER INSERT ON ${t}
FOR EACH STATEMENT EXECUTE FUNCTION ${s}.bench_notify()`);
  }
}

export function anatomyVariants(schema: string): Variant[] {
  const s = quoteIdent(schema);
  let prepared = false;
  const prepare = async (admin: pg.Pool) => {
    if (prepared) return;
    prepared = true;
    await admin.query(`CREATE FUNCTION ${s}.bench_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify(TG_TABLE_SCHEMA || '_bench', ''); RETURN NULL; END $$`);
  };
  return shapes().map(([name, describe, shape]) => {
    const table = name.replaceAll('-', '_');
    const t = `${s}.${quoteIdent(table)}`;
    const shard = {
      constant: '$8::int',
      // The unused shard parameter keeps its type known: coalesce of a non-null costs nothing.
      settings: `coalesce((SELECT ((hashtextextended($9::text, 0) % st.shard_count + st.shard_count) % st.shard_count)::int FROM ${s}.settings st), $8::int)`,
      function: `coalesce(${s}.shard_of($9::text), $8::int)`,
    }[shape.shardFrom];
    const text = `INSERT INTO ${t} (id, type, version, source, subject, aggregate_type, aggregate_id, partition_key,
  shard, destination, payload, headers, correlation_id, causation_id, traceparent, tracestate, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $9, ${shard}, $10, $11, $12, $13, $14, $15, $16, $17)`;
    return {
      name,
      describe,
      setup: async (admin) => {
        await prepare(admin);
        await createTable(admin, schema, table, shape);
      },
      extra: (client, body) => {
        const key = randomUUID();
        return client.query({
          name: `bench_${table}`,
          text,
          values: [
            randomUUID(),
            'bench.order.placed',
            1,
            '/herald-bench',
            null,
            null,
            null,
            7,
            key,
            'bench-write',
            JSON.stringify({ orderId: key, body }),
            '{}',
            null,
            null,
            null,
            null,
            new Date().toISOString(),
          ],
        });
      },
    };
  });
}

export const anatomyNames = steps.map(([name]) => name);
