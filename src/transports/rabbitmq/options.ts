import { groupPattern } from '../../config/check.ts';
import { HeraldError } from '../../errors.ts';

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

const invalid = (setting: string, rule: string, value?: unknown) =>
  new HeraldError(
    'HERALD_INVALID_CONFIG',
    `${setting}: ${value === undefined ? '' : `${JSON.stringify(value)} `}${rule}`,
    { details: { setting } },
  );

/**
 * Parses an AMQP URI. Errors never repeat the URL: it may hold a password.
 */
export function parseUrl(url: unknown, setting = 'url'): Endpoint {
  if (typeof url !== 'string' || url.length === 0) throw invalid(setting, 'must be an amqp:// or amqps:// URL');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(setting, 'is not a URL (expected amqp://user:password@host:port/vhost)');
  }
  const protocol = parsed.protocol.slice(0, -1);
  if (protocol !== 'amqp' && protocol !== 'amqps') {
    throw invalid(setting, `has the scheme ${JSON.stringify(`${protocol}:`)}; expected amqp:// or amqps://`);
  }
  if (parsed.hostname === '') throw invalid(setting, 'has no host');
  if (parsed.search !== '' || parsed.hash !== '') {
    throw invalid(setting, 'must not have a query or fragment (use the transport options instead)');
  }
  const path = parsed.pathname;
  let vhost = '/';
  if (path !== '' && path !== '/') {
    const raw = path.slice(1);
    if (raw.includes('/')) throw invalid(setting, 'has a path of several segments; encode a / in the vhost as %2F');
    try {
      vhost = decodeURIComponent(raw);
    } catch {
      throw invalid(setting, 'has a vhost that is not valid percent-encoding');
    }
  }
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw invalid(setting, 'has user information that is not valid percent-encoding');
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

function integer(options: object, setting: string, min: number, max: number, fallback: number): number {
  const v = (options as Record<string, unknown>)[setting];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(setting, `must be an integer from ${min} to ${max}`, v);
  }
  return v;
}

/** Checks every option once, at creation; each error names the option. */
export function resolveOptions(options: RabbitMQOptions): RabbitMQSettings {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'must be an object with a url');
  const endpoint = parseUrl(options.url);
  const { partitions, groups, exchangeFor, queueType, connectionName } = options;
  let partitionsFor: (destination: string) => number;
  if (typeof partitions === 'function') {
    partitionsFor = (destination) => {
      const n = partitions(destination);
      if (!Number.isInteger(n) || n < 1 || n > maxPartitions) {
        throw invalid(`partitions(${JSON.stringify(destination)})`, `must be an integer from 1 to ${maxPartitions}`, n);
      }
      return n;
    };
  } else {
    const n = integer(options, 'partitions', 1, maxPartitions, 4);
    partitionsFor = () => n;
  }
  if (groups !== undefined) {
    if (!Array.isArray(groups)) throw invalid('groups', 'must be an array of consumer group names', typeof groups);
    const bad = groups.find((g) => typeof g !== 'string' || !groupPattern.test(g));
    if (bad !== undefined) throw invalid('groups', 'has a name that is not 1-200 of A-Z a-z 0-9 . _ -', bad);
  }
  if (exchangeFor !== undefined && typeof exchangeFor !== 'function') {
    throw invalid('exchangeFor', 'must be a function of the destination', typeof exchangeFor);
  }
  if (queueType !== undefined && queueType !== 'quorum' && queueType !== 'classic') {
    throw invalid('queueType', "must be 'quorum' or 'classic'", queueType);
  }
  if (connectionName !== undefined && (typeof connectionName !== 'string' || connectionName.length > 200)) {
    throw invalid('connectionName', 'must be a string of at most 200 characters', connectionName);
  }
  return {
    endpoint,
    target: describeEndpoint(endpoint),
    partitionsFor,
    groups: [...new Set(groups ?? [])],
    exchangeFor: exchangeFor ?? ((d) => d),
    queueType: queueType ?? 'quorum',
    timeoutMs: integer(options, 'timeoutMs', 100, 600_000, 10_000),
    prefetch: integer(options, 'prefetch', 1, 65_535, 250),
    maxMessageBytes: integer(options, 'maxMessageBytes', 1, maxMessageBytesLimit, defaultMaxMessageBytes),
    heartbeatSeconds: integer(options, 'heartbeatSeconds', 0, 3600, 30),
    connectionName: connectionName ?? 'herald',
  };
}
