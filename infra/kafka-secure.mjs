// A private Kafka broker that takes clients over TLS and SASL/SCRAM, for the security tests.
//
//   import { secureKafka } from '../infra/kafka-secure.mjs';
//   const k = await secureKafka({ users: [{ name: 'herald', password: 's3cret' }] });
//   k.plaintext, k.ssl, k.saslSsl, k.saslPlaintext   // '127.0.0.1:<port>' of each listener
//   k.certs.ca                                       // the PEM file of the CA that signed its certificate
//   await k.destroy();
//
// One KRaft node (infra/kafka.mjs kafkaBroker) with four client listeners: PLAINTEXT (also between
// brokers), SSL, SASL_SSL and SASL_PLAINTEXT, the SASL ones taking SCRAM-SHA-256 and
// SCRAM-SHA-512. Its certificate is signed by a CA of its own (infra/certs.mjs), for 127.0.0.1;
// the SCRAM users are written into the metadata when the storage is formatted (`--add-scram`).
// Plain ESM, Node >= 20, no dependencies.

import path from 'node:path';
import { certificateRequirements, makeCertificates } from './certs.mjs';
import { kafkaBroker, kafkaUnavailable } from './kafka.mjs';
import { privateInstance } from './private.mjs';

const HOST = '127.0.0.1';
const STORE_PASSWORD = 'herald-test-store';
const scramLogin = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';

/**
 * @param {{ users?: {name: string, password: string}[], heapOpts?: string[] }} [options]
 */
export function secureKafka({ users = [], heapOpts = ['-Xms256m', '-Xmx768m'] } = {}) {
  return privateInstance('kafka', {
    ports: 5,
    requirements: () => kafkaUnavailable() ?? certificateRequirements(),
    create: ({ dir, ports: [port, controllerPort, sslPort, saslSslPort, saslPlainPort], env }) => {
      const certs = makeCertificates(path.join(dir, 'certs'), { pkcs12: STORE_PASSWORD });
      const listeners = { PLAINTEXT: port, SSL: sslPort, SASL_SSL: saslSslPort, SASL_PLAINTEXT: saslPlainPort };
      const list = (ports) =>
        Object.entries(ports)
          .map(([name, p]) => `${name}://${HOST}:${p}`)
          .join(',');
      const props = {
        listeners: list({ ...listeners, CONTROLLER: controllerPort }),
        'advertised.listeners': list(listeners),
        'listener.security.protocol.map':
          'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT',
        'ssl.keystore.type': 'PKCS12',
        'ssl.keystore.location': certs.p12,
        'ssl.keystore.password': STORE_PASSWORD,
        'ssl.key.password': STORE_PASSWORD,
        'ssl.client.auth': 'none',
        'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
      };
      for (const listener of ['sasl_ssl', 'sasl_plaintext']) {
        for (const mechanism of ['scram-sha-256', 'scram-sha-512']) {
          props[`listener.name.${listener}.${mechanism}.sasl.jaas.config`] = scramLogin;
        }
      }
      const formatArgs = users.flatMap((u) =>
        ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => [
          '--add-scram',
          `${m}=[name=${u.name},password=${u.password}]`,
        ]),
      );
      const broker = kafkaBroker({
        name: 'kafka-secure',
        dir,
        port,
        controllerPort,
        heapOpts,
        env,
        props,
        formatArgs,
      });
      return {
        ...broker,
        certs,
        plaintext: `${HOST}:${port}`,
        ssl: `${HOST}:${sslPort}`,
        saslSsl: `${HOST}:${saslSslPort}`,
        saslPlaintext: `${HOST}:${saslPlainPort}`,
      };
    },
  });
}
