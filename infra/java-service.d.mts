// Types shared by kafka.d.mts and elasticmq.d.mts: what every server of infra/java-service.mjs
// takes and returns (infra/service.d.mts under the names they had). (javaService() and javaJars()
// themselves are called only from .mjs files, so they are not declared.)

export type {
  LocalService as JavaService,
  ServiceAddress as JavaServiceAddress,
  ServiceStartOptions as JavaServiceStartOptions,
  ServiceStartResult as JavaServiceStartResult,
  ServiceStopOptions as JavaServiceStopOptions,
  ServiceStopResult as JavaServiceStopResult,
} from './service.mjs';

export interface JavaServiceJars {
  version: string;
  fetched: boolean;
  ms: number;
}

export type EnsureJars = (opts?: { log?: (msg: string) => void }) => JavaServiceJars;
