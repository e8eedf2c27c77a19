// Types for infra/postgres.mjs (so TypeScript tests can import it under strict mode).
import type { Certificates } from './certs.mjs';
import type { PrivateInstance } from './private.mjs';

export type PgShutdownMode = 'smart' | 'fast' | 'immediate';

export interface PrivatePostgres extends PrivateInstance {
  /** postgres://postgres@127.0.0.1:<port>/test */
  url: string;
  host: string;
  port: number;
  dataDir: string;
  /** With `tls`: the CA and server certificate. */
  certs: Certificates | null;
  /** The directory of its socket (trusted: for set-up by the test itself). */
  socketDir: string;
  logFile: string;
  /** The postmaster's pid, if it runs. */
  pid(): number | null;
  start(): Promise<{ ms: number }>;
  stop(opts?: { mode?: PgShutdownMode }): Promise<{ ms: number }>;
  restart(opts?: { mode?: PgShutdownMode }): Promise<{ ms: number }>;
}

export declare function postgresBinDir(): string | null;
export declare function postgresRequirements(): string | null;
export declare function privatePostgres(options?: {
  database?: string;
  settings?: Record<string, string | number>;
  /** TCP only over TLS and with the password (scram-sha-256); the URL verifies the certificate */
  tls?: boolean;
  /** the `postgres` role's password */
  password?: string;
  /** more pg_hba.conf lines, e.g. `host all all 10.1.2.0/30 trust` */
  hba?: string[];
}): Promise<PrivatePostgres>;
