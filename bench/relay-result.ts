import type { PayloadShape } from './payload.ts';
// What `npm run bench -- relay` reports per system: one JSON line each (--json), the table, the charts.
import type { BenchSource, SystemName } from './system.ts';
import type { TransportName } from './transports.ts';

export interface SystemResult {
  system: SystemName;
  /** Relay instances (Herald; the baseline has one). */
  relays: number;
  /** Herald with metrics on (--metrics). */
  metrics: boolean;
  /** The broker both relays publish to. */
  transport: TransportName;
  /** With --relays N: seconds from SIGKILL of one of two relays until events written after it are published. */
  failoverSeconds?: number;
  /** Events committed in both phases. */
  events: number;
  lost: number;
  duplicates: number;
  /**
   * Drain: backlog size / (arrival of the last event of the backlog − relay start). Arrival on
   * Kafka: the broker's append time; elsewhere: when the observing subscription received it.
   */
  eventsPerSec: number;
  /** Steady rate: arrival − commit time. */
  p50Ms: number;
  p99Ms: number;
  p90Ms: number;
  maxMs: number;
  drainEvents: number;
  drainSeconds: number;
  latencyEvents: number;
  rate: number;
  achievedRate: number;
  seconds: number;
  eventsPerTx: number;
  /** The payloads' shape: flat (one string field) or structured (a list of small objects). */
  payload: PayloadShape;
  lateWrites: number;
  failedWrites: number;
  unexpected: number;
  partitions: number;
  batchSize: number;
  /** Drain measured to the relay's ack instead: backlog / (the last backlog event's publish() resolved − relay start). */
  ackEventsPerSec: number;
  /** Steady rate: when the relay's publish() holding the event resolved − commit time. */
  ackP50Ms: number;
  ackP99Ms: number;
  /** Herald's relay source (the baseline polls). */
  source: BenchSource;
  /** The latency phase at each offered rate (--rate R1,R2,...), the first being the fields above. */
  sweep: RateResult[];
  /** CPU seconds per 10,000 events in the steady-rate phase (bench/cpu.ts); null where unknown. */
  relayCpuSecPer10k: number | null;
  relayPgCpuSecPer10k: number | null;
  /** The walsenders among those backends (CDC sources), whose work is decoding the WAL. */
  walsenderCpuSecPer10k: number | null;
  /** The server's processes but the writers' backends (their pool has closed when it is read). */
  pgCpuSecPer10k: number | null;
}

/** Commit→arrival (and →ack) at one offered rate. */
export interface RateResult {
  rate: number;
  achievedRate: number;
  lateWrites: number;
  failedWrites: number;
  events: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  ackP50Ms: number;
  ackP99Ms: number;
  /**
   * Commit → the relay handing the event to its transport (it has read it): the read's share of
   * the latency, apart from publishing. Null where the bench cannot see it (Debezium).
   */
  readP50Ms: number | null;
  readP99Ms: number | null;
  /**
   * The writers' transactions, BEGIN → COMMIT: the relay reads only below the oldest transaction
   * still open (the gapless read), so a slow one holds back the events committed after it.
   */
  txP50Ms: number;
  txP99Ms: number;
}
