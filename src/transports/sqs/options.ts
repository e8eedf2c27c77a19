import { groupPattern } from '../../config/check.ts';
import { HeraldError } from '../../errors.ts';
import type { Credentials } from './client.ts';
import { defaultQueueName, type QueueNaming } from './names.ts';

export interface SqsOptions {
  /** An SQS-compatible endpoint, e.g. `http://127.0.0.1:9324` (ElasticMQ); default AWS's for the region. */
  endpoint?: string;
  /** Default `AWS_REGION` / `AWS_DEFAULT_REGION`; with an `endpoint` and neither, `us-east-1`. */
  region?: string;
  /** Default: the AWS SDK's credential chain (environment, profile, role). Never logged. */
  credentials?: Credentials;
  /**
   * The consumer groups each destination is delivered to: a list for every destination, or a
   * function of the destination. Each message is sent once per group, to the group's queue. A
   * destination with no group goes to one queue of its own (`queueFor(destination, null)`).
   */
  groups?: readonly string[] | ((destination: string) => readonly string[]);
  /** Queue name of a destination for a group (null: no group); default `<destination>-<group>.fifo`. */
  queueFor?: QueueNaming;
  /** Create missing queues (FIFO) when publishing or subscribing; default true. */
  autoCreateQueues?: boolean;
  /** Attributes of the queues it creates; default a retention of 14 days (SQS's longest). */
  queueAttributes?: Record<string, string>;
  /** Long polling: how long a ReceiveMessage waits for messages, 0-20 s; default 20. */
  waitTimeSeconds?: number;
  /**
   * How long a received message stays hidden from other receivers, 2-43200 s; default 30. The
   * subscription extends it every third of it while the message is not acknowledged.
   */
  visibilityTimeoutSeconds?: number;
  /** Per request, in ms; a call with no answer in this long (plus the long poll) fails. Default 10 000. */
  timeoutMs?: number;
  /** Largest message, counted as SQS does (body and attributes); default and most 1 048 576 (1 MiB). */
  maxMessageBytes?: number;
}

export interface SqsSettings {
  endpoint: string | undefined;
  region: string;
  credentials: Credentials | undefined;
  groupsOf: (destination: string) => readonly string[];
  queueFor: QueueNaming;
  autoCreateQueues: boolean;
  queueAttributes: Record<string, string>;
  waitTimeSeconds: number;
  visibilityTimeoutSeconds: number;
  timeoutMs: number;
  maxMessageBytes: number;
  /** Where SQS is, for logs and errors; never credentials. */
  target: string;
}

/** SQS's largest message and SendMessageBatch request (1 MiB since August 2025; 256 KiB before). */
const sqsMaxMessageBytes = 1_048_576;

const bad = (setting: string, rule: string, value: unknown) =>
  new HeraldError('HERALD_INVALID_CONFIG', `sqs: ${setting} ${rule}, got ${describeValue(value)}`, {
    details: { setting },
  });

/** Never echoes a credential: only its type. */
const describeValue = (value: unknown) =>
  typeof value === 'string' || typeof value === 'number' ? JSON.stringify(value) : typeof value;

function integer(value: unknown, setting: string, min: number, max: number, dflt: number): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(setting, `must be an integer from ${min} to ${max}`, value);
  }
  return value;
}

function checkGroups(groups: unknown, setting: string): readonly string[] {
  if (!Array.isArray(groups)) throw bad(setting, 'must be a list of consumer group names', groups);
  const wrong = groups.find((g) => typeof g !== 'string' || !groupPattern.test(g));
  if (wrong !== undefined) throw bad(setting, 'has a group that is not 1-200 of A-Z a-z 0-9 . _ -:', wrong);
  return [...new Set(groups as string[])];
}

function checkCredentials(credentials: unknown): Credentials | undefined {
  if (credentials === undefined || typeof credentials === 'function') return credentials as Credentials | undefined;
  const c = credentials as Record<string, unknown> | null;
  const text = (v: unknown) => typeof v === 'string' && v.length > 0;
  if (
    typeof c !== 'object' ||
    c === null ||
    !text(c.accessKeyId) ||
    !text(c.secretAccessKey) ||
    (c.sessionToken !== undefined && !text(c.sessionToken))
  ) {
    throw new HeraldError(
      'HERALD_INVALID_CONFIG',
      'sqs: credentials must be { accessKeyId, secretAccessKey, sessionToken? } (non-empty strings) or a provider function',
      { details: { setting: 'credentials' } },
    );
  }
  return credentials as Credentials;
}

/** Checks the options and fills in the defaults; every problem is HERALD_INVALID_CONFIG. */
export function sqsSettings(options: SqsOptions): SqsSettings {
  if (typeof options !== 'object' || options === null) throw bad('options', 'must be an object', options);
  let endpoint: string | undefined;
  if (options.endpoint !== undefined) {
    let url: URL | null = null;
    try {
      url = new URL(options.endpoint);
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
      // Anything before an @ could be a secret: never echoed.
      const shown = String(options.endpoint).replace(/\/\/[^@]*@/, '//…@');
      throw bad('endpoint', 'must be an http(s) URL without credentials', shown);
    }
    endpoint = options.endpoint;
  }
  const region =
    options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (endpoint ? 'us-east-1' : undefined);
  if (typeof region !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(region)) {
    throw bad('region', 'must be set (the option, or AWS_REGION) to a region name such as eu-west-1', region);
  }
  const groups = options.groups;
  let groupsOf: (destination: string) => readonly string[];
  if (typeof groups === 'function') {
    groupsOf = (destination) => checkGroups(groups(destination), `groups(${JSON.stringify(destination)})`);
  } else {
    const list = groups === undefined ? [] : checkGroups(groups, 'groups');
    groupsOf = () => list;
  }
  if (options.queueFor !== undefined && typeof options.queueFor !== 'function') {
    throw bad('queueFor', 'must be a function (destination, group) => queue name', options.queueFor);
  }
  if (options.autoCreateQueues !== undefined && typeof options.autoCreateQueues !== 'boolean') {
    throw bad('autoCreateQueues', 'must be a boolean', options.autoCreateQueues);
  }
  const attributes = options.queueAttributes ?? {};
  if (
    typeof attributes !== 'object' ||
    attributes === null ||
    Object.values(attributes).some((v) => typeof v !== 'string')
  ) {
    throw bad('queueAttributes', 'must be an object of string values', attributes);
  }
  return {
    endpoint,
    region,
    credentials: checkCredentials(options.credentials),
    groupsOf,
    queueFor: options.queueFor ?? defaultQueueName,
    autoCreateQueues: options.autoCreateQueues ?? true,
    queueAttributes: { MessageRetentionPeriod: '1209600', ...attributes },
    waitTimeSeconds: integer(options.waitTimeSeconds, 'waitTimeSeconds', 0, 20, 20),
    visibilityTimeoutSeconds: integer(options.visibilityTimeoutSeconds, 'visibilityTimeoutSeconds', 2, 43_200, 30),
    timeoutMs: integer(options.timeoutMs, 'timeoutMs', 100, 600_000, 10_000),
    maxMessageBytes: integer(options.maxMessageBytes, 'maxMessageBytes', 1024, sqsMaxMessageBytes, sqsMaxMessageBytes),
    target: endpoint ?? `sqs.${region}.amazonaws.com`,
  };
}
