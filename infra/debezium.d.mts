// Types for infra/debezium.mjs (so the TypeScript bench can import it under strict mode).
import type { PrivateInstance } from './private.mjs';

export declare const DEBEZIUM_VERSION: string;
export declare const CONNECT_VERSION: string;

export interface PrivateDebezium extends PrivateInstance {
  restUrl: string;
  port: number;
  paths: { dir: string; outLog: string; worker: string; connector: string };
  /** The worker's JVM, if it runs. */
  pid(): number | null;
}

/** A java binary of major 21 or newer, or null. */
export declare function debeziumJava(): string | null;

export declare function privateDebezium(options: {
  bootstrap: string;
  connector: Record<string, string | number>;
  worker?: Record<string, string | number>;
}): Promise<PrivateDebezium>;
