import { type Queryable, runQuery } from '../db.ts';
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
  userId: string | null;
  sessionId: string | null;
  tags: string[] | null;
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
  ['user_id', 'text'],
  ['session_id', 'text'],
  // Bound as one comma-joined text (a tag has no comma): an array of arrays cannot be unnested.
  ['tags', 'text'],
  ['traceparent', 'text'],
  ['tracestate', 'text'],
  ['created_at', 'timestamptz'],
] as const;

const singleStatements = new Map<string, string>();
const manyStatements = new Map<string, string>();
const names = columns.map(([c]) => c);
/** The value inserted for a column from its parameter or unnested field `p`. */
const insertedValue = (column: string, p: string) => (column === 'tags' ? `string_to_array(${p}, ',')` : p);

// The shard is computed in SQL by the schema's shard_of (migration 0008: hashtextextended, the
// function behind hash partitioning, modulo the shard count written into the function), so every
// writer and relay agrees on it. PostgreSQL inlines it: no sub-select on `settings` per insert.

/** One event: scalar parameters, the common case of a transaction that writes one event. */
function singleSql(schema: string): string {
  let sql = singleStatements.get(schema);
  if (sql === undefined) {
    const s = quoteIdent(schema);
    const params = columns.map(([c, t], i) => insertedValue(c, `$${i + 1}::${t}`));
    sql = `INSERT INTO ${s}.log (${names.join(', ')}, shard)
VALUES (${params.join(', ')}, ${s}.shard_of($8::text))`;
    singleStatements.set(schema, sql);
  }
  return sql;
}

/**
 * Any number of events in one statement: arrays bound as parameters and unnested in order, so
 * identity values (`seq`) follow the caller's order.
 */
function manySql(schema: string): string {
  let sql = manyStatements.get(schema);
  if (sql === undefined) {
    const s = quoteIdent(schema);
    const params = columns.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ');
    sql = `INSERT INTO ${s}.log (${names.join(', ')}, shard)
SELECT ${names.map((c) => insertedValue(c, `e.${c}`)).join(', ')}, ${s}.shard_of(e.partition_key)
FROM unnest(${params}) WITH ORDINALITY AS e(${names.join(', ')}, ord)
ORDER BY e.ord`;
    manyStatements.set(schema, sql);
  }
  return sql;
}

function rowValues(r: LogRecord): unknown[] {
  return [
    r.id,
    r.type,
    r.version,
    r.source,
    r.subject,
    r.aggregateType,
    r.aggregateId,
    r.partitionKey,
    r.destination,
    r.payload,
    JSON.stringify(r.headers),
    r.correlationId,
    r.causationId,
    r.userId,
    r.sessionId,
    r.tags?.join(',') ?? null,
    r.traceparent,
    r.tracestate,
    r.time.toISOString(),
  ];
}

/**
 * Appends records in one statement. With `prepared`, statements are named so PostgreSQL parses
 * and plans them once per connection (measured here: about 1.3x more single-event transactions
 * a second); turn it off for clients or poolers that cannot keep prepared statements.
 */
export async function insertEvents(
  db: Queryable,
  schema: string,
  records: LogRecord[],
  prepared: boolean,
): Promise<void> {
  const single = records.length === 1;
  const text = single ? singleSql(schema) : manySql(schema);
  const rows = records.map(rowValues);
  const values = single ? (rows[0] as unknown[]) : columns.map((_, i) => rows.map((row) => row[i]));
  await runQuery(db, prepared ? `herald_insert_${single ? 'one' : 'many'}_${schema}` : undefined, text, values);
}
