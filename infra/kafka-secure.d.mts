// Types for infra/kafka-secure.mjs.
import type { Certificates } from './certs.mjs';
import type { PrivateKafka } from './kafka.mjs';

export interface SecureKafka extends PrivateKafka {
  certs: Certificates & { p12: string };
  /** '127.0.0.1:<port>' of each client listener */
  plaintext: string;
  ssl: string;
  saslSsl: string;
  saslPlaintext: string;
}

/** A private broker with SSL, SASL_SSL and SASL_PLAINTEXT (SCRAM-SHA-256/512) listeners; `users` are its SCRAM users. */
export declare function secureKafka(options?: {
  users?: { name: string; password: string }[];
  heapOpts?: string[];
}): Promise<SecureKafka>;
