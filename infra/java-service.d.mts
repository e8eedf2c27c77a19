// Types shared by kafka.d.mts and elasticmq.d.mts: what every server of infra/java-service.mjs
// takes and returns. (javaService() itself is called only from .mjs files, so it is not declared.)

export interface JavaServiceStartResult {
  /** false if a server already answered on the service's address */
  started: boolean;
  /** true if the answering server was not started by herald */
  external: boolean;
  pid: number | null;
  version: string | null;
  ms: number;
  /** time spent fetching the jars with mvn (0 when cached) */
  fetchMs?: number;
}

export interface JavaServiceStopResult {
  stopped: boolean;
  pid: number | null;
  /** true if SIGKILL was needed after the timeout */
  forced: boolean;
  ms: number;
}

export interface JavaServiceStartOptions {
  /** how long to wait for the server to be ready (each service has its default and variable) */
  timeoutMs?: number;
  log?: (msg: string) => void;
}

export interface JavaServiceStopOptions {
  /** wait before SIGKILL (each service has its default) */
  timeoutMs?: number;
  /** default 'SIGTERM' (clean shutdown); 'SIGKILL' simulates a crash */
  signal?: NodeJS.Signals;
}

export interface JavaServiceJars {
  version: string;
  fetched: boolean;
  ms: number;
}

/** `{ bootstrap: string }`, `{ endpoint: string }`: where a service's clients connect. */
export type JavaServiceAddress<Key extends string> = { [K in Key]: string };

/** What javaService() returns; `Key` names the address in results ('bootstrap', 'endpoint'). */
export interface JavaService<Key extends string> {
  ensureJars(opts?: { log?: (msg: string) => void }): JavaServiceJars;
  pid(): number | null;
  status(): Promise<{ up: boolean; pid: number | null; ours: boolean } & JavaServiceAddress<Key>>;
  start(opts?: JavaServiceStartOptions): Promise<JavaServiceStartResult & JavaServiceAddress<Key>>;
  stop(opts?: JavaServiceStopOptions): Promise<JavaServiceStopResult>;
  restart(
    opts?: JavaServiceStartOptions & JavaServiceStopOptions,
  ): Promise<JavaServiceStartResult & JavaServiceAddress<Key> & { stop: JavaServiceStopResult }>;
}
