// Certificates for the private servers that tests run over TLS (infra/secure.mjs, privatePostgres
// with `tls`): a certificate authority of their own and a server certificate it signs, for
// 127.0.0.1 and localhost, made with the machine's `openssl`. Nothing here is trusted by anything
// but the test that made it.
//
//   const certs = makeCertificates(dir);      // certs.ca, certs.cert, certs.key: PEM files
//   const other = makeCertificates(dir2);     // another CA: a client trusting it must refuse the server
//
// Plain ESM, Node >= 20, no dependencies.

import fs from 'node:fs';
import path from 'node:path';
import { onPath, run } from './lib.mjs';

/** Why certificates cannot be made here, or null. */
export function certificateRequirements() {
  return onPath('openssl') ? null : 'no `openssl` on the PATH to make certificates';
}

function openssl(args, cwd) {
  const r = run('openssl', args, { cwd });
  if (!r.ok) throw new Error(`openssl ${args.join(' ')} failed (exit ${r.code}): ${r.out}`);
}

/**
 * A CA (ca.pem, ca.key) and a server certificate it signs (server.pem, server.key, subjectAltName
 * IP:127.0.0.1 and DNS:localhost), written into `dir`; with `pkcs12` also server.p12 (key, chain;
 * its password `pkcs12`) for a Java server. Keys are unencrypted PKCS#8, mode 0600.
 * @param {string} dir
 * @param {{ pkcs12?: string, days?: number }} [options]
 * @returns {{ dir: string, ca: string, caKey: string, cert: string, key: string, p12?: string }}
 */
export function makeCertificates(dir, { pkcs12, days = 2 } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const file = (name) => path.join(dir, name);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ca.key'], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-sha256',
      '-days',
      String(days),
      '-subj',
      '/CN=herald test CA',
      '-out',
      'ca.pem',
    ],
    dir,
  );
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'server.key'], dir);
  openssl(['req', '-new', '-key', 'server.key', '-subj', '/CN=127.0.0.1', '-out', 'server.csr'], dir);
  fs.writeFileSync(
    file('server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      String(days),
      '-sha256',
      '-extfile',
      'server.ext',
      '-out',
      'server.pem',
    ],
    dir,
  );
  fs.chmodSync(file('server.key'), 0o600);
  fs.chmodSync(file('ca.key'), 0o600);
  const out = { dir, ca: file('ca.pem'), caKey: file('ca.key'), cert: file('server.pem'), key: file('server.key') };
  if (pkcs12) {
    openssl(
      [
        'pkcs12',
        '-export',
        '-in',
        'server.pem',
        '-inkey',
        'server.key',
        '-certfile',
        'ca.pem',
        '-name',
        'server',
        '-passout',
        `pass:${pkcs12}`,
        '-out',
        'server.p12',
      ],
      dir,
    );
    return { ...out, p12: file('server.p12') };
  }
  return out;
}
