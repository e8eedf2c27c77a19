import { checkObject, integerSetting } from '../../config/check.ts';
import { type DatabaseOption, resolveDatabase } from '../../store/connect.ts';
import { resolveSchema } from '../../store/identifiers.ts';
import { integerPerDestination } from '../per-destination.ts';

export interface PostgresTransportOptions {
  /** Connection string, pg Pool, or the PGlite pool from `herald/pglite`; default `DATABASE_URL`. */
  db?: DatabaseOption;
  /** The herald schema holding the broker tables (`herald migrate`); default `HERALD_SCHEMA`, else `herald`. */
  schema?: string;
  /** Partitions of a new topic, 1-1024; default 8. A topic keeps the count it was made with. */
  partitions?: number;
  /**
   * Largest message (body and headers) accepted, in bytes; default 1 MiB, as Kafka's default.
   * PostgreSQL itself would take far more: the limit keeps one event from filling a table.
   * A function gives a limit per topic.
   */
  maxMessageBytes?: number | ((topic: string) => number);
  /** How often an idle subscription looks for new messages, in ms; default 100. NOTIFY wakes it sooner. */
  pollIntervalMs?: number;
  /** A member that stops heartbeating loses its partitions after this; default 10 000 ms. */
  leaseMs?: number;
  /** Messages are deleted this many days after they were published; default 7, 0 keeps them. */
  retentionDays?: number;
}

export interface PostgresSettings {
  db: DatabaseOption;
  schema: string;
  partitions: number;
  maxMessageBytes: (topic: string) => number;
  pollIntervalMs: number;
  leaseMs: number;
  retentionDays: number;
}

/** PostgreSQL's own limit on a bytea or text value (1 GB). */
const maxFieldBytes = 1_073_741_823;

/**
 * Checks every option once, at creation; each error names the option. The database and schema
 * are resolved as every entry point of Herald resolves them (DATABASE_URL, HERALD_SCHEMA).
 */
export function postgresSettings(options: PostgresTransportOptions): PostgresSettings {
  checkObject(options as unknown);
  return {
    db: resolveDatabase(options.db),
    schema: resolveSchema(options.schema).name,
    partitions: integerSetting('partitions', options.partitions, 1, 1024, 8),
    maxMessageBytes: integerPerDestination('maxMessageBytes', options.maxMessageBytes, 1, maxFieldBytes, 1_048_576),
    pollIntervalMs: integerSetting('pollIntervalMs', options.pollIntervalMs, 10, 3_600_000, 100),
    leaseMs: integerSetting('leaseMs', options.leaseMs, 250, 600_000, 10_000),
    retentionDays: integerSetting('retentionDays', options.retentionDays, 0, 3650, 7),
  };
}
