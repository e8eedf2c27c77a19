import { booleanSetting, checkObject, functionSetting, integerSetting, invalidSetting } from '../../config/check.ts';
import { groupList } from '../../config/names.ts';
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

/** An http(s) URL without credentials; a bad one is shown with whatever precedes an @ left out. */
function endpointSetting(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | null = null;
  try {
    url = typeof value === 'string' ? new URL(value) : null;
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
    const shown = typeof value === 'string' ? value.replace(/\/\/[^@]*@/, '//…@') : value;
    throw invalidSetting('endpoint', 'must be an http(s) URL without credentials', shown);
  }
  return value as string;
}

/** Keys or a provider function; the error never shows them. */
function credentialsSetting(credentials: unknown): Credentials | undefined {
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
    throw invalidSetting(
      'credentials',
      'must be { accessKeyId, secretAccessKey, sessionToken? } (non-empty strings) or a provider function',
    );
  }
  return credentials as Credentials;
}

/** A list of groups for every destination, or a function of the destination whose answer is checked. */
function groupsSetting(groups: unknown): (destination: string) => readonly string[] {
  if (typeof groups === 'function') {
    return (destination) => groupList(`groups(${JSON.stringify(destination)})`, groups(destination));
  }
  const list = groups === undefined ? [] : groupList('groups', groups);
  return () => list;
}

function queueAttributesSetting(value: unknown): Record<string, string> {
  const attributes = value ?? {};
  checkObject(attributes, 'queueAttributes');
  if (Object.values(attributes).some((v) => typeof v !== 'string')) {
    throw invalidSetting('queueAttributes', 'must be an object of string values', attributes);
  }
  return attributes as Record<string, string>;
}

/** Checks the options and fills in the defaults; every problem is HERALD_INVALID_CONFIG naming the option. */
export function sqsSettings(options: SqsOptions): SqsSettings {
  checkObject(options);
  const endpoint = endpointSetting(options.endpoint);
  const region =
    options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (endpoint ? 'us-east-1' : undefined);
  if (typeof region !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(region)) {
    throw invalidSetting(
      'region',
      'must be set (the option, or AWS_REGION) to a region name such as eu-west-1',
      region,
    );
  }
  return {
    endpoint,
    region,
    credentials: credentialsSetting(options.credentials),
    groupsOf: groupsSetting(options.groups),
    queueFor:
      functionSetting<QueueNaming>('queueFor', options.queueFor, '(destination, group) => queue name') ??
      defaultQueueName,
    autoCreateQueues: booleanSetting('autoCreateQueues', options.autoCreateQueues, true),
    queueAttributes: { MessageRetentionPeriod: '1209600', ...queueAttributesSetting(options.queueAttributes) },
    waitTimeSeconds: integerSetting('waitTimeSeconds', options.waitTimeSeconds, 0, 20, 20),
    visibilityTimeoutSeconds: integerSetting(
      'visibilityTimeoutSeconds',
      options.visibilityTimeoutSeconds,
      2,
      43_200,
      30,
    ),
    timeoutMs: integerSetting('timeoutMs', options.timeoutMs, 100, 600_000, 10_000),
    maxMessageBytes: integerSetting(
      'maxMessageBytes',
      options.maxMessageBytes,
      1024,
      sqsMaxMessageBytes,
      sqsMaxMessageBytes,
    ),
    target: endpoint ?? `sqs.${region}.amazonaws.com`,
  };
}
