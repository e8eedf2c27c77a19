// Types for infra/certs.mjs.
export interface Certificates {
  dir: string;
  /** PEM file of the CA */
  ca: string;
  caKey: string;
  /** PEM file of the server certificate (127.0.0.1, localhost) */
  cert: string;
  key: string;
  /** with `pkcs12`: key and chain for a Java server */
  p12?: string;
}
export declare function certificateRequirements(): string | null;
export declare function makeCertificates(dir: string, options?: { pkcs12?: string; days?: number }): Certificates;
