import { createHash } from 'node:crypto';
import { HeraldError } from '../../errors.ts';
import { checkDestination } from '../../events/validate.ts';
import { partitionOf } from '../partition.ts';

export { partitionOf };

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

const invalid = (setting: string, value: unknown, rule: string) =>
  new HeraldError('HERALD_INVALID_CONFIG', `${setting}: ${JSON.stringify(value)} ${rule}`, { details: { setting } });

const serverPattern = /^(?:(?:nats|tls|ws|wss):\/\/)?(?:[^@/\s]+@)?(?:[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;

/** Leaves credentials (`user:pass@`) out of a server URL. */
const withoutCredentials = (server: string) => server.replace(/^((?:[a-z]+:\/\/)?)[^@/\s]+@/, '$1');

function parseServers(servers: unknown, setting = 'servers'): string[] {
  const list =
    typeof servers === 'string' ? servers.split(',') : Array.isArray(servers) ? servers.map((s) => String(s)) : [];
  const trimmed = list.map((s) => s.trim()).filter((s) => s.length > 0);
  const bad = trimmed.find((s) => !serverPattern.test(s));
  if (trimmed.length === 0 || bad !== undefined) {
    const shown = bad === undefined ? servers : withoutCredentials(bad);
    throw invalid(
      setting,
      typeof shown === 'string' || Array.isArray(shown) ? shown : typeof shown,
      'is not a list of host:port or nats://host:port',
    );
  }
  return trimmed;
}

function integer(setting: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(setting, value, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function text(setting: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  // The value is a credential: the error names the setting, never the value.
  if (typeof value !== 'string' || value.length === 0) {
    throw new HeraldError('HERALD_INVALID_CONFIG', `${setting} must be a non-empty string`, { details: { setting } });
  }
  return value;
}

/** The default stream name: NATS stream names may not hold `.`, so `orders.created` -> `orders_created`. */
export const defaultStreamFor = (destination: string) => destination.replaceAll('.', '_');

/** Validates every option once, at creation; each error names its setting. */
export function natsSettings(options: NatsOptions): NatsSettings {
  if (typeof options !== 'object' || options === null) throw invalid('options', options, 'must be an object');
  const servers = parseServers(options.servers);
  if (options.streamFor !== undefined && typeof options.streamFor !== 'function') {
    throw invalid('streamFor', typeof options.streamFor, 'must be a function of the destination');
  }
  const user = text('user', options.user);
  const pass = text('pass', options.pass);
  const token = text('token', options.token);
  if ((user === undefined) !== (pass === undefined)) {
    throw new HeraldError('HERALD_INVALID_CONFIG', 'user and pass: give both or neither', {
      details: { setting: 'user' },
    });
  }
  if (token !== undefined && user !== undefined) {
    throw new HeraldError('HERALD_INVALID_CONFIG', 'token: give either a token or user and pass', {
      details: { setting: 'token' },
    });
  }
  const name = options.name ?? 'herald';
  if (typeof name !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(name)) {
    throw invalid('name', name, 'must be 1-128 printable characters without spaces');
  }
  const duplicateWindowMs = integer('duplicateWindowMs', options.duplicateWindowMs, 120_000, 1_000, 7 * 86_400_000);
  const maxAgeMs = integer('maxAgeMs', options.maxAgeMs, 7 * 86_400_000, 0, 3650 * 86_400_000);
  if (maxAgeMs > 0 && duplicateWindowMs > maxAgeMs) {
    throw invalid('duplicateWindowMs', duplicateWindowMs, `must not be longer than maxAgeMs (${maxAgeMs})`);
  }
  return {
    servers,
    target: servers.map(withoutCredentials).join(','),
    user,
    pass,
    token,
    name,
    partitions: integer('partitions', options.partitions, 8, 1, 1024),
    streamFor: options.streamFor ?? defaultStreamFor,
    timeoutMs: integer('timeoutMs', options.timeoutMs, 10_000, 100, 600_000),
    replicas: integer('replicas', options.replicas, 1, 1, 5),
    duplicateWindowMs,
    maxAgeMs,
    ackWaitMs: integer('ackWaitMs', options.ackWaitMs, 30_000, 1_000, 24 * 3_600_000),
    maxAckPending: integer('maxAckPendingPerPartition', options.maxAckPendingPerPartition, 1000, 1, 1_000_000),
    fetchBatch: integer('fetchBatch', options.fetchBatch, 100, 1, 10_000),
    groupLeaseMs: integer('groupLeaseMs', options.groupLeaseMs, 15_000, 3_000, 3_600_000),
  };
}

const badDestination = (destination: string, why: string) =>
  new HeraldError('HERALD_INVALID_DESTINATION', `${JSON.stringify(destination)} ${why}`, { details: { destination } });

/**
 * Checks a destination for NATS: Herald's rule (1-249 of A-Z a-z 0-9 . _ -) and, since it is the
 * subject prefix, no empty token (no leading, trailing or doubled `.`).
 */
export function checkNatsDestination(destination: unknown, where: string): asserts destination is string {
  checkDestination(destination, where);
  if (destination.split('.').some((token) => token.length === 0)) {
    throw badDestination(destination, `(${where}) is not a NATS subject: a "." at its start or end, or two in a row`);
  }
}

const streamNamePattern = /^[A-Za-z0-9_-]{1,255}$/;

/** The stream of a destination, checked: NATS stream names may not hold `.`, spaces, `*`, `>` or path separators. */
export function streamOf(settings: NatsSettings, destination: string): string {
  const stream = settings.streamFor(destination);
  if (typeof stream !== 'string' || !streamNamePattern.test(stream)) {
    throw badDestination(destination, `maps to stream ${JSON.stringify(stream)}, not 1-255 of A-Z a-z 0-9 _ -`);
  }
  return stream;
}

export const subjectOf = (destination: string, partition: number) => `${destination}.${partition}`;

/**
 * A group's name as one NATS name token (consumer names and subject tokens may not hold `.`): a
 * group with dots gets them replaced by `_` and a short hash of the real name, so groups `a.b`
 * and `a_b` never share a position.
 */
export function groupToken(group: string): string {
  if (!group.includes('.')) return group;
  const hash = createHash('sha256').update(group).digest('hex').slice(0, 8);
  return `${group.replaceAll('.', '_')}-${hash}`;
}

/** The durable consumer of a group's partition: `<group>-p<n>`. */
export const consumerNameOf = (group: string, partition: number) => `${groupToken(group)}-p${partition}`;

/** A stream's partition count as Herald writes it in the stream's description: `herald partitions=N`. */
export const describeStream = (partitions: number) => `herald partitions=${partitions}`;

export function partitionsInDescription(description: string | undefined): number | null {
  const found = /\bpartitions=(\d{1,4})\b/.exec(description ?? '');
  const n = found ? Number(found[1]) : 0;
  return n >= 1 && n <= 1024 ? n : null;
}
