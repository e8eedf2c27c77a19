import { oneOf } from '../config/check.ts';
import { HeraldError } from '../errors.ts';
import { eventBrand, isOutboxEvent, type OutboxEvent, parseNow } from '../events/define.ts';
import { accessError } from '../store/access-error.ts';
import { type ClientTransaction, transactionPort } from '../store/clients/index.ts';
import { resolveSchema } from '../store/identifiers.ts';
import { emitEvents } from '../store/sql/emit-events.ts';
import { insertEvents, type LogRecord } from '../store/sql/insert-events.ts';
import { ambientPort } from '../store/transaction.ts';
import { traceCreation } from './trace.ts';

export interface OutboxOptions {
  /** The herald schema; default `herald`. */
  schema?: string;
  /** CloudEvents `source` of every event this outbox writes; default `$HERALD_SOURCE` or `/herald`. */
  source?: string;
  /** Largest payload accepted, in bytes of JSON; default 1 MiB (Kafka's default message size). */
  maxPayloadBytes?: number;
  /**
   * Name the INSERT so PostgreSQL plans it once per connection (default true). Turn off behind a
   * pooler that cannot keep prepared statements (PgBouncer before 1.21 in transaction mode).
   */
  preparedStatements?: boolean;
  /**
   * `log` (default): each event a row of the log. `wal`: no table at all; each event a
   * transactional message in the WAL (`pg_logical_emit_message`), published only by a relay with
   * `source: 'cdc'`. It gives up what needs the rows: replay and history from the log, the
   * backlog in `herald status`, and recovery if the slot is lost. See docs/outbox.md.
   */
  mode?: 'log' | 'wal';
  /**
   * Where `outbox.add(events)` finds the transaction when none is passed and none is ambient
   * (withTransaction, a handler): the transaction object of your client, or undefined when there
   * is none. E.g. with @nestjs-cls/transactional:
   * `() => txHost.isTransactionActive() ? txHost.tx : undefined`.
   */
  transaction?: () => unknown;
}

export interface Outbox {
  /**
   * Appends events to the log inside the caller's transaction: they are published if, and only
   * if, it commits. Every payload is validated first; if one fails, nothing is written. `tx` is
   * the transaction object of your client (pg, postgres.js, Kysely, Drizzle, Knex, Prisma,
   * TypeORM, MikroORM, Sequelize: docs/clients.md); without it, the ambient one of `withTransaction`
   * or a handler.
   */
  add(tx: ClientTransaction, events: OutboxEvent | readonly OutboxEvent[]): Promise<AddedEvent[]>;
  add(events: OutboxEvent | readonly OutboxEvent[]): Promise<AddedEvent[]>;
}

export interface AddedEvent {
  id: string;
  type: string;
  partitionKey: string;
}

/**
 * The event validated and made a log record. Without a promise when its schema validates
 * synchronously (most do): `outbox.add` is on every business transaction's path.
 */
function resolve(event: unknown, source: string, maxBytes: number): LogRecord | Promise<LogRecord> {
  if (!isOutboxEvent(event)) {
    throw new HeraldError(
      'HERALD_INVALID_EVENT',
      'outbox.add takes events made by a defineEvent() definition, e.g. outbox.add(tx, OrderCreated({...}))',
    );
  }
  const definition = event[eventBrand];
  const payload = parseNow(definition, event.payload);
  return payload instanceof Promise
    ? payload.then((p) => toRecord(event, definition, p, source, maxBytes))
    : toRecord(event, definition, payload, source, maxBytes);
}

function toRecord(
  event: OutboxEvent,
  definition: OutboxEvent[typeof eventBrand],
  payload: unknown,
  source: string,
  maxBytes: number,
): LogRecord {
  const json = JSON.stringify(payload);
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) {
    throw new HeraldError(
      'HERALD_MESSAGE_TOO_LARGE',
      `${event.type}: payload is ${bytes} bytes, over the limit of ${maxBytes}`,
      { details: { type: event.type, bytes, maxBytes } },
    );
  }
  const o = event.options;
  const partitionKey = o.key ?? (definition.key as (p: unknown) => string)(payload);
  if (typeof partitionKey !== 'string' || partitionKey.length === 0) {
    throw new HeraldError('HERALD_INVALID_HEADER', `${event.type}: key() must return a non-empty string`, {
      details: { type: event.type, field: 'key' },
    });
  }
  const aggregate =
    o.aggregate ?? (definition.aggregate as ((p: unknown) => { type: string; id: string }) | undefined)?.(payload);
  return {
    id: event.id,
    type: event.type,
    version: event.version,
    source,
    subject: o.subject ?? (aggregate ? `${aggregate.type}/${aggregate.id}` : null),
    aggregateType: aggregate?.type ?? null,
    aggregateId: aggregate?.id ?? null,
    partitionKey,
    destination: o.destination ?? definition.destination ?? null,
    payload: json,
    headers: o.headers ?? {},
    correlationId: o.correlationId ?? event.id,
    causationId: o.causationId ?? null,
    userId: o.userId ?? null,
    sessionId: o.sessionId ?? null,
    tags: o.tags && o.tags.length > 0 ? [...o.tags] : null,
    traceparent: o.traceparent ?? null,
    tracestate: o.tracestate ?? null,
    time: o.time ?? new Date(),
  };
}

function wrapWriteError(error: unknown, schema: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === '42501') return accessError(error, `schema "${schema}"`);
  if (code === '42P01' || code === '3F000') {
    return new HeraldError(
      'HERALD_NOT_MIGRATED',
      `the herald log is missing in schema "${schema}"; run \`herald migrate --schema ${schema}\``,
      { cause: error },
    );
  }
  // A writer of this release on a schema not yet migrated to 0008 (shard_of is missing): the
  // deploy ran before `herald migrate`. Nothing was written; say what to do.
  const message = String((error as { message?: unknown }).message);
  if (
    (code === '42883' && /shard_of/.test(message)) ||
    (code === '42703' && /"(user_id|session_id|tags)"/.test(message))
  ) {
    return new HeraldError(
      'HERALD_NOT_MIGRATED',
      `schema "${schema}" is older than this release (${message}); run \`herald migrate --schema ${schema}\` before deploying it`,
      { cause: error },
    );
  }
  return error;
}

export function createOutbox(options: OutboxOptions = {}): Outbox {
  const schema = resolveSchema(options.schema).name;
  const source = options.source ?? process.env.HERALD_SOURCE ?? '/herald';
  if (typeof source !== 'string' || source.length === 0 || /\s/.test(source)) {
    throw new HeraldError(
      'HERALD_INVALID_CONFIG',
      `source ${JSON.stringify(source)} must be a non-empty URI reference`,
      {
        details: { setting: 'source' },
      },
    );
  }
  const maxBytes = options.maxPayloadBytes ?? 1024 * 1024;
  const prepared = options.preparedStatements ?? true;
  const mode = oneOf('mode', options.mode, ['log', 'wal'] as const) ?? 'log';
  const write = mode === 'wal' ? emitEvents : insertEvents;
  return {
    async add(first: ClientTransaction | OutboxEvent | readonly OutboxEvent[], second?: unknown) {
      const ambient = second === undefined && (Array.isArray(first) || isOutboxEvent(first));
      const events = (ambient ? first : second) as OutboxEvent | readonly OutboxEvent[];
      const tx = ambient ? ambientPort(options.transaction) : transactionPort(first);
      const list = Array.isArray(events) ? events : [events as OutboxEvent];
      if (list.length === 0) return [];
      // Validate everything before the first write: a bad event leaves the transaction untouched.
      const resolved = list.map((e) => resolve(e, source, maxBytes));
      const records = resolved.some((r) => r instanceof Promise)
        ? await Promise.all(resolved)
        : (resolved as LogRecord[]);
      const traced = traceCreation(records, schema);
      const spans = traced instanceof Promise ? await traced : traced;
      try {
        await write(tx, schema, records, prepared);
      } catch (error) {
        spans?.fail(error);
        throw wrapWriteError(error, schema);
      }
      spans?.end();
      return records.map((r) => ({ id: r.id, type: r.type, partitionKey: r.partitionKey }));
    },
  };
}
