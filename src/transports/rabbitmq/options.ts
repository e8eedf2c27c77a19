import {
  checkObject,
  functionSetting,
  integerSetting,
  invalidSetting,
  oneOf,
  textSetting,
} from '../../config/check.ts';
import { groupList } from '../../config/names.ts';
import { integerPerDestination } from '../per-destination.ts';

export type QueueType = 'quorum' | 'classic';

export interface RabbitMQOptions {
  /**
   * `amqp://user:password@host:port/vhost` (or `amqps://`). The vhost is the URL's path,
   * percent-encoded (`/` is `%2F`); no path means the default vhost `/`. The password never
   * reaches logs, errors or `describe()`.
   */
  url: string;
  /**
   * Ordered streams per destination (a queue per partition and consumer group); default 4. A
   * function gives each destination its own count. Publishers and consumers of a destination
   * must agree on it.
   */
  partitions?: number | ((destination: string) => number);
  /**
   * Consumer groups whose queues the publisher declares, so that what is published before a
   * group first subscribes waits for it. Without them, a destination no group has subscribed to
   * has nowhere to route and publishing it fails (retriable).
   */
  groups?: string[];
  /** The exchange a destination is published to; default the destination's own name. */
  exchangeFor?: (destination: string) => string;
  /** Queue type of group queues; default `quorum` (replicated, confirmed once on a majority). */
  queueType?: QueueType;
  /** Deadline of every call to RabbitMQ (connect, declare, a batch's confirms) in ms; default 10 000. */
  timeoutMs?: number;
  /** Unacknowledged messages per partition queue a consumer holds; default 250. */
  prefetch?: number;
  /**
   * Largest message body sent, checked before sending (HERALD_MESSAGE_TOO_LARGE); default
   * 134 217 728, RabbitMQ's default `max_message_size`. Set it to your server's limit if lower:
   * the server's own refusal is also reported as HERALD_MESSAGE_TOO_LARGE, but it closes the
   * channel and fails the rest of the batch with it.
   */
  maxMessageBytes?: number;
  /** AMQP heartbeat in seconds (a dead peer is noticed after about twice this); default 30, 0 off. */
  heartbeatSeconds?: number;
  /** Shown as the connection's name in RabbitMQ's management UI; default `herald`. */
  connectionName?: string;
}

export interface Endpoint {
  protocol: 'amqp' | 'amqps';
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
}

export interface RabbitMQSettings {
  endpoint: Endpoint;
  /** Where the broker is, without credentials. */
  target: string;
  partitionsFor: (destination: string) => number;
  groups: string[];
  exchangeFor: (destination: string) => string;
  queueType: QueueType;
  timeoutMs: number;
  prefetch: number;
  maxMessageBytes: number;
  heartbeatSeconds: number;
  connectionName: string;
}

/** RabbitMQ's default `max_message_size` (128 MiB); its largest allowed value is 512 MiB. */
const defaultMaxMessageBytes = 134_217_728;
const maxMessageBytesLimit = 536_870_912;
const maxPartitions = 1000;

/**
 * Parses an AMQP URI. Errors name the setting and never repeat the URL: it may hold a password.
 */
export function parseUrl(url: unknown, setting = 'url'): Endpoint {
  const invalid = (rule: string) => invalidSetting(setting, rule);
  if (typeof url !== 'string' || url.length === 0) throw invalid('must be an amqp:// or amqps:// URL');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('is not a URL (expected amqp://user:password@host:port/vhost)');
  }
  const protocol = parsed.protocol.slice(0, -1);
  if (protocol !== 'amqp' && protocol !== 'amqps') {
    throw invalid(`has the scheme ${JSON.stringify(`${protocol}:`)}; expected amqp:// or amqps://`);
  }
  if (parsed.hostname === '') throw invalid('has no host');
  if (parsed.search !== '' || parsed.hash !== '') {
    throw invalid('must not have a query or fragment (use the transport options instead)');
  }
  const path = parsed.pathname;
  let vhost = '/';
  if (path !== '' && path !== '/') {
    const raw = path.slice(1);
    if (raw.includes('/')) throw invalid('has a path of several segments; encode a / in the vhost as %2F');
    try {
      vhost = decodeURIComponent(raw);
    } catch {
      throw invalid('has a vhost that is not valid percent-encoding');
    }
  }
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw invalid('has user information that is not valid percent-encoding');
    }
  };
  return {
    protocol,
    hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? (protocol === 'amqps' ? 5671 : 5672) : Number(parsed.port),
    username: parsed.username === '' ? 'guest' : decode(parsed.username),
    password: parsed.password === '' && parsed.username === '' ? 'guest' : decode(parsed.password),
    vhost,
  };
}

/** `amqp://host:port/vhost`: where the broker is, with no user name or password. */
function describeEndpoint(e: Endpoint): string {
  const host = e.hostname.includes(':') ? `[${e.hostname}]` : e.hostname;
  return `${e.protocol}://${host}:${e.port}/${e.vhost === '/' ? '' : encodeURIComponent(e.vhost)}`;
}

/** Checks every option once, at creation; each error names the option. */
export function resolveOptions(options: RabbitMQOptions): RabbitMQSettings {
  checkObject(options);
  const endpoint = parseUrl(options.url);
  return {
    endpoint,
    target: describeEndpoint(endpoint),
    partitionsFor: integerPerDestination('partitions', options.partitions, 1, maxPartitions, 4),
    groups: options.groups === undefined ? [] : groupList('groups', options.groups),
    exchangeFor:
      functionSetting<(destination: string) => string>('exchangeFor', options.exchangeFor, 'of the destination') ??
      ((d) => d),
    queueType: oneOf('queueType', options.queueType, ['quorum', 'classic'] as const, 'quorum'),
    timeoutMs: integerSetting('timeoutMs', options.timeoutMs, 100, 600_000, 10_000),
    prefetch: integerSetting('prefetch', options.prefetch, 1, 65_535, 250),
    maxMessageBytes: integerSetting(
      'maxMessageBytes',
      options.maxMessageBytes,
      1,
      maxMessageBytesLimit,
      defaultMaxMessageBytes,
    ),
    heartbeatSeconds: integerSetting('heartbeatSeconds', options.heartbeatSeconds, 0, 3600, 30),
    connectionName: textSetting('connectionName', options.connectionName, { max: 200 }) ?? 'herald',
  };
}
