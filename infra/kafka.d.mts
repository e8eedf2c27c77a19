// Types for infra/kafka.mjs (so TypeScript tests can import it under strict mode).

export declare const DEFAULT_KAFKA_VERSION: string;
export declare const FALLBACK_KAFKA_VERSION: string;
export declare const KAFKA_HOST: string;
export declare const KAFKA_PORT: number;
export declare const KAFKA_CONTROLLER_PORT: number;
/** "127.0.0.1:9092" unless HERALD_KAFKA_PORT is set. */
export declare const KAFKA_BOOTSTRAP: string;

export declare const kafkaPaths: Readonly<{
  dir: string; libs: string; versionMarker: string; data: string; logs: string;
  serverLog: string; outLog: string; config: string; clusterId: string;
  pidFile: string; lock: string; pom: string; log4j: string;
}>;

export interface KafkaStartResult {
  /** false if a broker already answered on KAFKA_BOOTSTRAP */
  started: boolean;
  /** true if the answering broker was not started by herald */
  external: boolean;
  pid: number | null;
  bootstrap: string;
  version: string | null;
  ms: number;
  fetchMs?: number;
}

export interface KafkaStopResult {
  stopped: boolean;
  pid: number | null;
  /** true if SIGKILL was needed after the timeout */
  forced: boolean;
  ms: number;
}

export interface KafkaStartOptions {
  /** default 120000 (HERALD_KAFKA_START_TIMEOUT_MS) */
  timeoutMs?: number;
  log?: (msg: string) => void;
}

export interface KafkaStopOptions {
  /** wait before SIGKILL; default 60000 */
  timeoutMs?: number;
  /** default 'SIGTERM' (clean shutdown); 'SIGKILL' simulates a crash */
  signal?: NodeJS.Signals;
}

export declare function ensureKafkaJars(opts?: { log?: (msg: string) => void }): { version: string; fetched: boolean; ms: number };
export declare function kafkaPid(): number | null;
export declare function kafkaStatus(): Promise<{ up: boolean; pid: number | null; ours: boolean; bootstrap: string }>;
export declare function startKafka(opts?: KafkaStartOptions): Promise<KafkaStartResult>;
export declare function stopKafka(opts?: KafkaStopOptions): Promise<KafkaStopResult>;
export declare function killKafka(): Promise<KafkaStopResult>;
export declare function restartKafka(opts?: KafkaStartOptions & KafkaStopOptions): Promise<KafkaStartResult & { stop: KafkaStopResult }>;
export declare function runKafkaTool(mainClass: string, args?: string[], opts?: { timeoutMs?: number }): { ok: boolean; code: number | null; out: string };
