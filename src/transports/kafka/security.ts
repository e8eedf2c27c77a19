import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { booleanSetting, checkObject, invalidSetting, missingSetting, oneOf, textSetting } from '../../config/check.ts';
import { type KafkaSaslMechanism, kafkaSaslMechanisms, settingFromEnv } from '../../config/settings.ts';

type Pem = string | Buffer;

export interface KafkaTlsOptions {
  /** The CA certificate(s) the brokers' certificates must chain to, PEM (default: the system's CAs). */
  ca?: Pem | Pem[];
  /** A PEM file to read `ca` from. */
  caFile?: string;
  /** A client certificate and its key, PEM, for brokers that ask for one (mutual TLS). */
  cert?: Pem;
  key?: Pem;
  /** The name the certificate must carry when it is not the broker's host. */
  servername?: string;
  /** Default true: a certificate that does not verify fails the connection. Turn off only to debug. */
  rejectUnauthorized?: boolean;
}

export interface KafkaSaslOptions {
  mechanism: KafkaSaslMechanism;
  username: string;
  /** Never written to logs or errors. */
  password: string;
}

const isPem = (v: unknown) => (typeof v === 'string' && v.length > 0) || Buffer.isBuffer(v);

function pem(setting: string, value: unknown, secret = false): Pem | undefined {
  if (value === undefined) return undefined;
  if (!isPem(value)) {
    const rule = 'must be PEM text or a Buffer';
    throw secret ? invalidSetting(setting, rule) : invalidSetting(setting, rule, value);
  }
  return value as Pem;
}

function readCa(setting: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const why = (error as { code?: string }).code ?? 'unreadable';
    throw invalidSetting(setting, `cannot be read (${why})`, file);
  }
}

/**
 * The `tls` option, checked: `true` for the system's CAs, an object for a CA of your own; left out,
 * `KAFKA_TLS` / `KAFKA_CA_FILE` decide (a CA file alone turns TLS on).
 */
export function tlsSettings(option: unknown): { tls?: TlsOptions } {
  if (option === undefined) {
    const caFile = settingFromEnv('kafkaCaFile');
    const on = settingFromEnv('kafkaTls') ?? caFile !== undefined;
    if (!on) return {};
    return { tls: caFile ? { ca: readCa('KAFKA_CA_FILE', caFile) } : {} };
  }
  if (typeof option === 'boolean') return option ? { tls: {} } : {};
  checkObject(option, 'tls');
  const o = option as KafkaTlsOptions;
  const known = ['ca', 'caFile', 'cert', 'key', 'servername', 'rejectUnauthorized'];
  const unknown = Object.keys(o).find((k) => !known.includes(k));
  if (unknown) throw invalidSetting(`tls.${unknown}`, `is not an option (${known.join(', ')})`);
  const list = Array.isArray(o.ca) ? o.ca : o.ca === undefined ? [] : [o.ca];
  const ca = list.map((c, i) => pem(`tls.ca[${i}]`, c) as Pem);
  const caFile = textSetting('tls.caFile', o.caFile);
  if (caFile) ca.push(readCa('tls.caFile', caFile));
  const cert = pem('tls.cert', o.cert);
  const key = pem('tls.key', o.key, true);
  if ((cert === undefined) !== (key === undefined)) throw missingSetting('tls.cert and tls.key', 'both, or neither');
  const servername = textSetting('tls.servername', o.servername, { max: 255 });
  return {
    tls: {
      ...(ca.length > 0 ? { ca } : {}),
      ...(cert && key ? { cert, key } : {}),
      ...(servername ? { servername } : {}),
      rejectUnauthorized: booleanSetting('tls.rejectUnauthorized', o.rejectUnauthorized, true),
    },
  };
}

/** The `sasl` option, checked (the password is never repeated in an error); left out, `KAFKA_SASL_*`. */
export function saslSettings(option: unknown): { sasl?: KafkaSaslOptions } {
  if (option === undefined) {
    const mechanism = settingFromEnv('kafkaSaslMechanism');
    if (!mechanism) return {};
    const username = settingFromEnv('kafkaSaslUsername');
    const password = settingFromEnv('kafkaSaslPassword');
    if (!username) throw missingSetting('KAFKA_SASL_USERNAME', 'the SASL user name, with KAFKA_SASL_MECHANISM');
    if (!password) throw missingSetting('KAFKA_SASL_PASSWORD', 'the SASL password, with KAFKA_SASL_MECHANISM');
    return { sasl: { mechanism, username, password } };
  }
  checkObject(option, 'sasl');
  const o = option as Partial<KafkaSaslOptions>;
  const mechanism = oneOf('sasl.mechanism', o.mechanism, kafkaSaslMechanisms);
  if (!mechanism) throw missingSetting('sasl.mechanism', kafkaSaslMechanisms.join(', '));
  const username = textSetting('sasl.username', o.username, { max: 1024 });
  if (!username) throw missingSetting('sasl.username', 'the SASL user name');
  const password = textSetting('sasl.password', o.password, { secret: true, max: 1024 });
  if (!password) throw missingSetting('sasl.password', 'the SASL password');
  return { sasl: { mechanism, username, password } };
}
