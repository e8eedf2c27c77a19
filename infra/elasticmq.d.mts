// Types for infra/elasticmq.mjs (so TypeScript tests can import it under strict mode).

export declare const DEFAULT_ELASTICMQ_VERSION: string;
export declare const ELASTICMQ_HOST: string;
export declare const ELASTICMQ_PORT: number;
/** "http://127.0.0.1:9324" unless HERALD_ELASTICMQ_PORT is set. */
export declare const ELASTICMQ_ENDPOINT: string;
/** "elasticmq": ElasticMQ accepts any region and any credentials. */
export declare const ELASTICMQ_REGION: string;

export declare const elasticMqPaths: Readonly<{
  dir: string; pom: string; libs: string; versionMarker: string; data: string; logs: string;
  outLog: string; config: string; pidFile: string; lock: string;
}>;

export interface ElasticMqStartResult {
  /** false if a server already answered on ELASTICMQ_ENDPOINT */
  started: boolean;
  /** true if the answering server was not started by herald */
  external: boolean;
  pid: number | null;
  endpoint: string;
  version: string | null;
  ms: number;
  /** time spent fetching the jars with mvn (0 when cached) */
  fetchMs?: number;
}

export interface ElasticMqStopResult {
  stopped: boolean;
  pid: number | null;
  /** true if SIGKILL was needed after the timeout */
  forced: boolean;
  ms: number;
}

export interface ElasticMqStartOptions {
  /** default 60000 (HERALD_ELASTICMQ_START_TIMEOUT_MS) */
  timeoutMs?: number;
  log?: (msg: string) => void;
}

export interface ElasticMqStopOptions {
  /** wait before SIGKILL; default 30000 */
  timeoutMs?: number;
  /** default 'SIGTERM' (clean shutdown) */
  signal?: NodeJS.Signals;
}

export declare function ensureElasticMqJars(opts?: { log?: (msg: string) => void }): { version: string; fetched: boolean; ms: number };
export declare function elasticMqPid(): number | null;
export declare function elasticMqAnswers(timeoutMs?: number): Promise<boolean>;
export declare function elasticMqStatus(): Promise<{ up: boolean; pid: number | null; ours: boolean; endpoint: string }>;
export declare function startElasticMq(opts?: ElasticMqStartOptions): Promise<ElasticMqStartResult>;
export declare function stopElasticMq(opts?: ElasticMqStopOptions): Promise<ElasticMqStopResult>;
export declare function restartElasticMq(opts?: ElasticMqStartOptions & ElasticMqStopOptions): Promise<ElasticMqStartResult & { stop: ElasticMqStopResult }>;
