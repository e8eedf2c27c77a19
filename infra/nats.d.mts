// Types for infra/nats.mjs (so TypeScript tests can import it under strict mode).
import type { LocalService, ServiceStartOptions, ServiceStopOptions } from './service.mjs';
import type { PrivateInstance } from './private.mjs';

export interface PrivateNats extends PrivateInstance, LocalService<'servers'> {
  /** '127.0.0.1:<port>' */
  servers: string;
  /** 'nats://127.0.0.1:<port>' */
  url: string;
  port: number;
}
export type { ServiceStartOptions as NatsStartOptions, ServiceStopOptions as NatsStopOptions };

export declare function natsServerBin(): string | null;
export declare function natsRequirements(): string | null;
export declare function privateNats(): Promise<PrivateNats>;
