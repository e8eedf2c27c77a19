// Types for infra/kafka.mjs (so TypeScript tests can import it under strict mode).

import type { JavaService, JavaServiceAddress, JavaServiceStartResult, JavaServiceStopResult } from './java-service.mjs';

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

export declare const ensureKafkaJars: KafkaService['ensureJars'];
export declare const kafkaPid: KafkaService['pid'];
export declare const kafkaStatus: KafkaService['status'];
export declare const startKafka: KafkaService['start'];
export declare const stopKafka: KafkaService['stop'];
export declare function killKafka(): Promise<JavaServiceStopResult>;
export declare const restartKafka: KafkaService['restart'];
export declare function runKafkaTool(mainClass: string, args?: string[], opts?: { timeoutMs?: number }): { ok: boolean; code: number | null; out: string };
