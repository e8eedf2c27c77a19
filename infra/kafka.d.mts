// Types for infra/kafka.mjs (so TypeScript tests can import it under strict mode).

import type { EnsureJars, JavaService, JavaServiceAddress, JavaServiceStartResult, JavaServiceStopResult } from './java-service.mjs';
import type { PrivateInstance } from './private.mjs';

// Start options: timeoutMs defaults to 120000 (HERALD_KAFKA_START_TIMEOUT_MS).
// Stop options: timeoutMs, the wait before SIGKILL, defaults to 60000.
export type {
  JavaServiceStartOptions as KafkaStartOptions,
  JavaServiceStopOptions as KafkaStopOptions,
  JavaServiceStopResult as KafkaStopResult,
} from './java-service.mjs';

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

type KafkaService = JavaService<'bootstrap'>;
export type KafkaStartResult = JavaServiceStartResult & JavaServiceAddress<'bootstrap'>;

export declare const ensureKafkaJars: EnsureJars;
/** Why no broker can run here (no Java, no jars to be had), or null. */
export declare function kafkaUnavailable(): string | null;
export declare const kafkaPid: KafkaService['pid'];
export declare const kafkaStatus: KafkaService['status'];
export declare const startKafka: KafkaService['start'];
export declare const stopKafka: KafkaService['stop'];
export declare function killKafka(): Promise<JavaServiceStopResult>;
export declare const restartKafka: KafkaService['restart'];
export declare function runKafkaTool(mainClass: string, args?: string[], opts?: { timeoutMs?: number }): { ok: boolean; code: number | null; out: string };

/** A new KRaft cluster id, to give every broker of one cluster. */
export declare function newClusterId(): string;

export interface KafkaBrokerOptions {
  /** in messages (default 'kafka') */
  name?: string;
  /** its directory (default .cache/<name>) */
  dir?: string;
  /** the client listener, PLAINTEXT://127.0.0.1:<port> */
  port: number;
  /** the controller listener (default port + 1) */
  controllerPort?: number;
  /** node.id (default 1) */
  nodeId?: number;
  /** the controller quorum (default: this node alone); every node of a cluster gets the same list */
  voters?: { id: number; host?: string; port: number }[];
  /** shared by the nodes of a cluster (default: one of its own, kept in <dir>/cluster-id) */
  clusterId?: string;
  /** for new topics and the internal topics (default 1) */
  replicationFactor?: number;
  /** default 1 */
  minInsyncReplicas?: number;
  /** more client listeners (plaintext), each advertised as its own host:port (e.g. an address a network namespace reaches) */
  listeners?: { name: string; host: string; port: number }[];
  /** more server.properties */
  props?: Record<string, string | number | boolean>;
  /** more arguments to the storage format at the first start (e.g. `--add-scram SCRAM-SHA-256=[name=u,password=p]`) */
  formatArgs?: string[];
  heapOpts?: string[];
  env?: Record<string, string>;
  /** note it in .cache/infra/started.json (the default broker only) */
  record?: boolean;
  /** its port is its own: something else answering there is an error (default true) */
  exclusive?: boolean;
}

export interface KafkaBroker extends KafkaService {
  name: string;
  nodeId: number;
  /** '127.0.0.1:<port>' */
  bootstrap: string;
  port: number;
  controllerPort: number;
  paths: Readonly<{ dir: string; data: string; logs: string; outLog: string; pidFile: string; lock: string; serverLog: string; config: string; clusterId: string }>;
  /** Hard crash: SIGKILL, no clean shutdown. */
  kill(): Promise<JavaServiceStopResult>;
}

export declare function kafkaBroker(options: KafkaBrokerOptions): KafkaBroker;

export type PrivateKafka = KafkaBroker & PrivateInstance;

/** A single-node broker of the caller's own on free ports in .cache/private (started; destroy() removes it). */
export declare function privateKafka(options?: { heapOpts?: string[]; props?: Record<string, string | number | boolean> }): Promise<PrivateKafka>;
