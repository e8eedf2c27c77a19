// Types for infra/private.mjs (so TypeScript tests can import it under strict mode).

export declare const PRIVATE_DIR: string;

/** A service that cannot run here: `message` says why; the test that needs it is skipped with it. */
export declare class ServiceUnavailable extends Error {
  constructor(service: string, why: string);
  readonly service: string;
  readonly unavailable: true;
}

/** A free port on 127.0.0.1 below the ephemeral range, claimed for this process until releasePort(). */
export declare function claimPort(): Promise<number>;
export declare function releasePort(port: number): void;
/** The pids whose environment carries HERALD_PRIVATE=<id>. */
export declare function markedPids(id: string): number[];
/** Tears down the instances whose owner died without doing it. */
export declare function sweepStale(): void;

/** What every private instance has besides its service's own methods. */
export interface PrivateInstance {
  /** `<kind>-<owner pid>-<hex>` */
  id: string;
  dir: string;
  ports: number[];
  /** ms from the call until it was ready (directory, ports, first start) */
  startMs: number;
  /** Kills every process of the instance and removes its files; idempotent. */
  destroy(): Promise<void>;
}

export declare function privateInstance<T extends { start(opts?: object): Promise<unknown> }>(
  kind: string,
  spec: {
    ports?: number;
    requirements?: () => string | null;
    dir?: (id: string) => string;
    signal?: NodeJS.Signals;
    create(ctx: { id: string; dir: string; ports: number[]; env: Record<string, string> }): T | Promise<T>;
  },
): Promise<T & PrivateInstance>;
