// Types for infra/rabbitmq.mjs (so TypeScript tests can import it under strict mode).
import type { ServiceStartResult, ServiceStopResult } from './service.mjs';
import type { PrivateInstance } from './private.mjs';

export interface PrivateRabbitMq extends PrivateInstance {
  /** herald-<pid>-<hex>@localhost */
  node: string;
  port: number;
  /** amqp://guest:guest@127.0.0.1:<port> */
  url: string;
  /** Runs `rabbitmqctl -n <node> ...args`; resolves its output, rejects if it fails. */
  ctl(...args: string[]): Promise<string>;
  /** `rabbitmqctl stop_app`: the broker is down, the node runs on. */
  stopApp(): Promise<void>;
  /** `rabbitmqctl start_app`, resolved once the AMQP port answers. */
  startApp(): Promise<void>;
  start(): Promise<ServiceStartResult>;
  stop(): Promise<ServiceStopResult>;
  restart(): Promise<ServiceStartResult & { stop: ServiceStopResult }>;
  pid(): number | null;
}

export declare function rabbitmqScriptsDir(): string | null;
export declare function rabbitmqRequirements(): string | null;
export declare function privateRabbitMq(): Promise<PrivateRabbitMq>;
