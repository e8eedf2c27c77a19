import type pg from 'pg';
import type { BenchPayload } from './payload.ts';
import type { BenchTransport } from './transports.ts';

export type SystemName = 'herald' | 'baseline' | 'debezium';

/**
 * How a system's events reach its relay: polling the log, CDC of the log (logical replication),
 * or Herald's table-less outbox (`pg_logical_emit_message`, read by the CDC source).
 */
export type BenchSource = 'polling' | 'cdc' | 'table-less';

/** The application side of a system: how it writes events in its transactions. */
export interface Writer {
  /** A backlog the way a busy application writes it: many events per transaction. */
  writeBacklog(payloads: readonly BenchPayload[]): Promise<string[]>;
  /** One transaction writing these events (one, in the default latency phase); `at` is Date.now() right after COMMIT returned. */
  commit(payloads: readonly BenchPayload[]): Promise<{ ids: string[]; at: number; tookMs: number }>;
}

/** Enough to open a system's writer anywhere, e.g. in the writer thread. */
export interface WriterSpec {
  system: SystemName;
  schema: string;
  topic: string;
  /** Herald's outbox mode: `wal` for the table-less source. */
  mode?: 'log' | 'wal';
}

/** What the scenario needs of a system under test: its writer, its relay, its own destination. */
export interface BenchSystem {
  readonly name: SystemName;
  /** Relay instances this system runs. */
  readonly relays: number;
  /** Whether its relays report metrics (Herald with --metrics). */
  readonly metrics?: boolean;
  /** Its destination: a Kafka topic, a RabbitMQ exchange, a NATS stream's subjects, ... */
  readonly topic: string;
  readonly writer: WriterSpec;
  /** Herald's relay source; the baseline polls, Debezium streams (cdc). */
  readonly source: BenchSource;
  /** application_name of the relay's connections, so their backends' CPU can be told apart. */
  readonly applicationName: string;
  /** A replication slot whose walsender serves the relay too (Debezium's, found by the slot). */
  readonly slot?: string;
  /** The relay's own process when it is not the bench's (Debezium's JVM); the main thread otherwise. */
  relayPid?(): number | null;
  /**
   * The relay starts a process that takes seconds before it streams (a JVM): its drain is timed
   * from the arrival of its first event rather than from startRelay().
   */
  readonly slowStart?: boolean;
  writeBacklog(payloads: readonly BenchPayload[]): Promise<string[]>;
  startRelay(): Promise<void>;
  /** Events the relay has published and recorded as published. */
  published(): number;
  /** Event id → when the relay's first `publish()` holding it resolved (the broker acknowledged it). */
  readonly acked: ReadonlyMap<string, number>;
  /** When the relay handed each event to its transport, having read it (Herald and the baseline). */
  readonly handed?: ReadonlyMap<string, number>;
  stopRelay(): Promise<void>;
  /** Drops the schema, removes the destination and ends the pools. */
  close(): Promise<void>;
}

export interface SystemConfig {
  databaseUrl: string;
  /** The broker the relay publishes to, and how its destination is made. */
  transport: BenchTransport;
  partitions: number;
  /** Connections of the writers' pool, i.e. transactions in flight at most. */
  writers: number;
  /** Kafka's bootstrap servers, for a relay that is not a Transport of the bench (Debezium). */
  brokers: readonly string[];
}

export const backlogChunk = 1000;

/** Commits `fn` alone in a transaction and notes the time COMMIT returned. */
export async function commitTimed(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<string[]>) {
  const client = await pool.connect();
  try {
    const began = Date.now();
    await client.query('BEGIN');
    const ids = await fn(client);
    await client.query('COMMIT');
    const at = Date.now();
    return { ids, at, tookMs: at - began };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** application_name the relays' connections carry in the bench (bench/cpu.ts finds them by it). */
export const relayApplicationName = (system: SystemName) => `herald-bench-relay-${system}`;
