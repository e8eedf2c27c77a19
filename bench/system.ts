import type pg from 'pg';
import type { BenchPayload } from './payload.ts';
import type { BenchTransport } from './transports.ts';

export type SystemName = 'herald' | 'baseline';

/** The application side of a system: how it writes events in its transactions. */
export interface Writer {
  /** A backlog the way a busy application writes it: many events per transaction. */
  writeBacklog(payloads: readonly BenchPayload[]): Promise<string[]>;
  /** One event in a transaction of its own; `at` is Date.now() right after COMMIT returned. */
  commitOne(payload: BenchPayload): Promise<{ id: string; at: number }>;
}

/** Enough to open a system's writer anywhere, e.g. in the writer thread. */
export interface WriterSpec {
  system: SystemName;
  schema: string;
  topic: string;
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
  writeBacklog(payloads: readonly BenchPayload[]): Promise<string[]>;
  startRelay(): Promise<void>;
  /** Events the relay has published and recorded as published. */
  published(): number;
  /** Event id → when the relay's first `publish()` holding it resolved (the broker acknowledged it). */
  readonly acked: ReadonlyMap<string, number>;
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
}

export const backlogChunk = 1000;

/** Commits `fn` alone in a transaction and notes the time COMMIT returned. */
export async function commitTimed(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<string>) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const id = await fn(client);
    await client.query('COMMIT');
    return { id, at: Date.now() };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
