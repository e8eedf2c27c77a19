// Types for infra/elasticmq.mjs (so TypeScript tests can import it under strict mode).

import type { EnsureJars, JavaService, JavaServiceAddress, JavaServiceStartResult } from './java-service.mjs';
import type { PrivateInstance } from './private.mjs';

// Start options: timeoutMs defaults to 60000 (HERALD_ELASTICMQ_START_TIMEOUT_MS).
// Stop options: timeoutMs, the wait before SIGKILL, defaults to 30000.
export type {
  JavaServiceStartOptions as ElasticMqStartOptions,
  JavaServiceStopOptions as ElasticMqStopOptions,
  JavaServiceStopResult as ElasticMqStopResult,
} from './java-service.mjs';

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

type ElasticMqService = JavaService<'endpoint'>;
export type ElasticMqStartResult = JavaServiceStartResult & JavaServiceAddress<'endpoint'>;

export declare const ensureElasticMqJars: EnsureJars;
export declare const elasticMqPid: ElasticMqService['pid'];
export declare function elasticMqAnswers(timeoutMs?: number): Promise<boolean>;
export declare const elasticMqStatus: ElasticMqService['status'];
export declare const startElasticMq: ElasticMqService['start'];
export declare const stopElasticMq: ElasticMqService['stop'];
export declare const restartElasticMq: ElasticMqService['restart'];

export interface ElasticMqServer extends ElasticMqService {
  name: string;
  /** 'http://127.0.0.1:<port>' */
  endpoint: string;
  port: number;
  paths: Readonly<{ dir: string; data: string; logs: string; outLog: string; pidFile: string; lock: string; config: string }>;
}

export declare function elasticMqServer(options: {
  name?: string;
  dir?: string;
  port: number;
  heapOpts?: string[];
  env?: Record<string, string>;
  record?: boolean;
  exclusive?: boolean;
}): ElasticMqServer;

export type PrivateElasticMq = ElasticMqServer & PrivateInstance;

/** A server of the caller's own on a free port in .cache/private (started; destroy() removes it). */
export declare function privateElasticMq(): Promise<PrivateElasticMq>;
