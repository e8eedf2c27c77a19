import { checkObject, functionSetting, integerSetting, invalidSetting, textSetting } from '../../config/check.ts';
import { defaultStreamFor } from './names.ts';

/** Milliseconds as the nanoseconds JetStream's durations are given in. */
export const nanos = (ms: number) => ms * 1_000_000;

export interface NatsOptions {
  /** `host:port` or `nats://host:port` (also `tls://`, `ws://`, `wss://`) strings, or one comma-separated string. */
  servers: string[] | string;
  /** Credentials: never logged, never in describe(). */
  user?: string;
  pass?: string;
  token?: string;
  /** The connection name the server shows; default `herald`. */
  name?: string;
  /** Partitions of a stream Herald creates (a stream that exists keeps its own count); default 8. */
  partitions?: number;
  /** The stream of a destination; default: the destination with `.` replaced by `_`. */
  streamFor?: (destination: string) => string;
  /** Per request (connect, PubAck, API call, ack) in ms; default 10 000. */
  timeoutMs?: number;
  /** Replicas of a stream Herald creates; default 1. */
  replicas?: number;
  /** How long the server remembers event ids to drop a re-publish, for streams Herald creates; default 120 000 ms. */
  duplicateWindowMs?: number;
  /** Retention of streams Herald creates: messages older than this go; default 7 days, 0 keeps them. */
  maxAgeMs?: number;
  /** An unacknowledged delivery is sent again after this, within a subscription; default 30 000 ms. */
  ackWaitMs?: number;
  /** Deliveries the server lets one group have unacknowledged per partition; default 1000. */
  maxAckPendingPerPartition?: number;
  /** Messages asked for in one pull request per partition; default 100. */
  fetchBatch?: number;
  /**
   * One member of a group reads at a time; the others take over within this long after it dies
   * (at once when it closes). Set by the first to create the lease stream; default 15 000 ms.
   */
  groupLeaseMs?: number;
}

export interface NatsSettings {
  servers: string[];
  /** The servers without credentials, for logs and errors. */
  target: string;
  user: string | undefined;
  pass: string | undefined;
  token: string | undefined;
  name: string;
  partitions: number;
  streamFor: (destination: string) => string;
  timeoutMs: number;
  replicas: number;
  duplicateWindowMs: number;
  maxAgeMs: number;
  ackWaitMs: number;
  maxAckPending: number;
  fetchBatch: number;
  groupLeaseMs: number;
}

const serverPattern = /^(?:(?:nats|tls|ws|wss):\/\/)?(?:[^@/\s]+@)?(?:[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;

/** Leaves credentials (`user:pass@`) out of a server URL. */
const withoutCredentials = (server: string) => server.replace(/^((?:[a-z]+:\/\/)?)[^@/\s]+@/, '$1');

/** The servers, as a list or one comma-separated string; an error shows a bad one without its credentials. */
function serverList(setting: string, servers: unknown): string[] {
  const list =
    typeof servers === 'string' ? servers.split(',') : Array.isArray(servers) ? servers.map((s) => String(s)) : [];
  const trimmed = list.map((s) => s.trim()).filter((s) => s.length > 0);
  const bad = trimmed.find((s) => !serverPattern.test(s));
  if (trimmed.length === 0 || bad !== undefined) {
    const shown = bad === undefined ? servers : withoutCredentials(bad);
    const rule = 'is not a list of host:port or nats://host:port';
    throw typeof shown === 'string' && shown.includes('@')
      ? invalidSetting(setting, rule)
      : invalidSetting(setting, rule, shown);
  }
  return trimmed;
}

/** user and pass go together, and a token goes alone; the values are never shown. */
function credentials(options: NatsOptions) {
  const user = textSetting('user', options.user, { secret: true });
  const pass = textSetting('pass', options.pass, { secret: true });
  const token = textSetting('token', options.token, { secret: true });
  if (user !== undefined && pass === undefined) throw invalidSetting('user', 'needs pass: give both or neither');
  if (pass !== undefined && user === undefined) throw invalidSetting('pass', 'needs user: give both or neither');
  if (token !== undefined && user !== undefined) {
    throw invalidSetting('token', 'comes with user and pass: give either a token or user and pass');
  }
  return { user, pass, token };
}

/** Validates every option once, at creation; each error names its setting. */
export function natsSettings(options: NatsOptions): NatsSettings {
  checkObject(options);
  const servers = serverList('servers', options.servers);
  const streamFor = functionSetting<(destination: string) => string>(
    'streamFor',
    options.streamFor,
    'of the destination',
  );
  const { user, pass, token } = credentials(options);
  const name = textSetting('name', options.name, { max: 128 }) ?? 'herald';
  if (!/^[\x21-\x7e]+$/.test(name)) {
    throw invalidSetting('name', 'must be 1-128 printable characters without spaces', name);
  }
  const duplicateWindowMs = integerSetting(
    'duplicateWindowMs',
    options.duplicateWindowMs,
    1_000,
    7 * 86_400_000,
    120_000,
  );
  const maxAgeMs = integerSetting('maxAgeMs', options.maxAgeMs, 0, 3650 * 86_400_000, 7 * 86_400_000);
  if (maxAgeMs > 0 && duplicateWindowMs > maxAgeMs) {
    throw invalidSetting('duplicateWindowMs', `must not be longer than maxAgeMs (${maxAgeMs})`, duplicateWindowMs);
  }
  return {
    servers,
    target: servers.map(withoutCredentials).join(','),
    user,
    pass,
    token,
    name,
    partitions: integerSetting('partitions', options.partitions, 1, 1024, 8),
    streamFor: streamFor ?? defaultStreamFor,
    timeoutMs: integerSetting('timeoutMs', options.timeoutMs, 100, 600_000, 10_000),
    replicas: integerSetting('replicas', options.replicas, 1, 5, 1),
    duplicateWindowMs,
    maxAgeMs,
    ackWaitMs: integerSetting('ackWaitMs', options.ackWaitMs, 1_000, 24 * 3_600_000, 30_000),
    maxAckPending: integerSetting('maxAckPendingPerPartition', options.maxAckPendingPerPartition, 1, 1_000_000, 1000),
    fetchBatch: integerSetting('fetchBatch', options.fetchBatch, 1, 10_000, 100),
    groupLeaseMs: integerSetting('groupLeaseMs', options.groupLeaseMs, 3_000, 3_600_000, 15_000),
  };
}
