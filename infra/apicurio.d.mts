// Types for infra/apicurio.mjs (so TypeScript tests can import it under strict mode).

import type { EnsureJars, JavaService, JavaServiceAddress, JavaServiceStartResult } from './java-service.mjs';
import type { PrivateInstance } from './private.mjs';

export declare const DEFAULT_APICURIO_VERSION: string;
export declare const APICURIO_HOST: string;
export declare const APICURIO_PORT: number;
/** "http://127.0.0.1:8081" unless HERALD_APICURIO_PORT is set. */
export declare const APICURIO_URL: string;
/** "/apis/ccompat/v7" */
export declare const CCOMPAT_PATH: string;
/** APICURIO_URL + CCOMPAT_PATH: the Confluent-compatible API. */
export declare const APICURIO_CCOMPAT: string;

export declare const apicurioPaths: Readonly<{
  dir: string; pom: string; libs: string; versionMarker: string; data: string; logs: string;
  outLog: string; pidFile: string; lock: string;
}>;

type ApicurioService = JavaService<'url'>;
export type ApicurioStartResult = JavaServiceStartResult & JavaServiceAddress<'url'>;

export declare const ensureApicurioJars: EnsureJars;
export declare const apicurioPid: ApicurioService['pid'];
export declare function apicurioAnswers(timeoutMs?: number): Promise<boolean>;
export declare function apicurioUnavailable(): string | null;
export declare const apicurioStatus: ApicurioService['status'];
export declare const startApicurio: ApicurioService['start'];
export declare const stopApicurio: ApicurioService['stop'];
export declare const restartApicurio: ApicurioService['restart'];

export interface ApicurioServer extends ApicurioService {
  name: string;
  /** 'http://127.0.0.1:<port>' */
  url: string;
  /** url + '/apis/ccompat/v7' */
  ccompat: string;
  port: number;
  paths: Readonly<{ dir: string; data: string; logs: string; outLog: string; pidFile: string; lock: string }>;
}

export declare function apicurioServer(options: {
  name?: string;
  dir?: string;
  port: number;
  managementPort: number;
  heapOpts?: string[];
  env?: Record<string, string>;
  record?: boolean;
  exclusive?: boolean;
}): ApicurioServer;

export type PrivateApicurio = ApicurioServer & PrivateInstance;

/** A server of the caller's own on free ports in .cache/private (started; destroy() removes it). */
export declare function privateApicurio(): Promise<PrivateApicurio>;
