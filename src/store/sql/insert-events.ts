import type { Queryable } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';

/** One event, resolved and validated, as the log stores it. */
export interface LogRecord {
  id: string;
  type: string;
  version: number;
  source: string;
  subject: string | null;
  aggregateType: string | null;
  aggregateId: string | null;
  partitionKey: string;
  destination: string | null;
  /** JSON text of the validated payload. */
  payload: string;
  headers: Record<string, string>;
  correlationId: string | null;
  causationId: string | null;
  traceparent: string | null;
  tracestate: string | null;
  time: Date;
}

const columns = [
  ['id', 'uuid'],
  ['type', 'text'],
  ['version', 'int'],
  ['source', 'text'],
  ['subject', 'text'],
  ['aggregate_type', 'text'],
  ['aggregate_id', 'text'],
  ['partition_key', 'text'],
  ['destination', 'text'],
  ['payload', 'jsonb'],
  ['headers', 'jsonb'],
  ['correlation_id', 'text'],
  ['causation_id', 'text'],
  ['traceparent', 'text'],
  ['tracestate', 'text'],
  ['created_at', 'timestamptz'],
] as const;

const statements = new Map<string, string>();

/**
 * One statement for any number of events: arrays bound as parameters and unnested in order, so
 * identity values (`seq`) follow the caller's order. The shard is hashed in SQL with
 * hashtextextended (the function behind hash partitioning, stable across releases) against the
 * shard count in `settings`, so every writer and relay agrees on it.
 */
function insertSql(schema: string): string {
  let sql = statements.get(schema);
  if (sql === undefined) {
    const s = quoteIdent(schema);
    const names = columns.map(([c]) => c);
    const params = columns.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ');
    sql = `INSERT INTO ${s}.log (${names.join(', ')}, shard)
SELECT ${names.map((c) => `e.${c}`).join(', ')},
  ((hashtextextended(e.partition_key, 0) % st.shard_count + st.shard_count) % st.shard_count)::int
FROM unnest(${params}) WITH ORDINALITY AS e(${names.join(', ')}, ord)
CROSS JOIN ${s}.settings st
ORDER BY e.ord`;
    statements.set(schema, sql);
  }
  return sql;
}

export async function insertEvents(db: Queryable, schema: string, records: LogRecord[]): Promise<void> {
  const values = [
    records.map((r) => r.id),
    records.map((r) => r.type),
    records.map((r) => r.version),
    records.map((r) => r.source),
    records.map((r) => r.subject),
    records.map((r) => r.aggregateType),
    records.map((r) => r.aggregateId),
    records.map((r) => r.partitionKey),
    records.map((r) => r.destination),
    records.map((r) => r.payload),
    records.map((r) => JSON.stringify(r.headers)),
    records.map((r) => r.correlationId),
    records.map((r) => r.causationId),
    records.map((r) => r.traceparent),
    records.map((r) => r.tracestate),
    records.map((r) => r.time.toISOString()),
  ];
  await db.query(insertSql(schema), values);
}
