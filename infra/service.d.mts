// Types for infra/service.mjs: what every server herald starts itself (Kafka, ElasticMQ, a private
// NATS or RabbitMQ node) takes and returns. (localService() itself is called only from .mjs files.)

export interface ServiceStartResult {
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

export interface ServiceStopResult {
  stopped: boolean;
  pid: number | null;
  /** true if SIGKILL was needed after the timeout */
  forced: boolean;
  ms: number;
}

export interface ServiceStartOptions {
  /** how long to wait for the server to be ready (each service has its default and variable) */
  timeoutMs?: number;
  log?: (msg: string) => void;
}

export interface ServiceStopOptions {
  /** wait before SIGKILL (each service has its default) */
  timeoutMs?: number;
  /** default 'SIGTERM' (clean shutdown); 'SIGKILL' simulates a crash */
  signal?: NodeJS.Signals;
}

/** `{ bootstrap: string }`, `{ endpoint: string }`: where a service's clients connect. */
export type ServiceAddress<Key extends string> = { [K in Key]: string };

/** What localService() returns; `Key` names the address in results ('bootstrap', 'endpoint'). */
export interface LocalService<Key extends string> {
  pid(): number | null;
  status(): Promise<{ up: boolean; pid: number | null; ours: boolean } & ServiceAddress<Key>>;
  start(opts?: ServiceStartOptions): Promise<ServiceStartResult & ServiceAddress<Key>>;
  stop(opts?: ServiceStopOptions): Promise<ServiceStopResult>;
  restart(
    opts?: ServiceStartOptions & ServiceStopOptions,
  ): Promise<ServiceStartResult & ServiceAddress<Key> & { stop: ServiceStopResult }>;
}
