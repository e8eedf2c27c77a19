import { createHash } from 'node:crypto';
import { HeraldError } from '../../errors.ts';
import { fnv1a } from '../partition.ts';

/** SQS queue names: 1-80 of A-Z a-z 0-9 - _, and a FIFO queue's name ends in `.fifo` (counted). */
const fifoQueueName = /^[A-Za-z0-9_-]{1,75}\.fifo$/;
/** MessageGroupId and MessageDeduplicationId: 1-128 of A-Z a-z 0-9 and ASCII punctuation. */
const sqsIdPattern = /^[\x21-\x7e]{1,128}$/;
/** Marks a MessageGroupId that is a hash of the partition key, not the key itself. */
export const hashedGroupPrefix = '#h:';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * The default queue of a destination for a consumer group: `<destination>-<group>.fifo`, or
 * `<destination>.fifo` for a destination no group is named for. Characters SQS does not allow
 * (the dots of `shop.order.placed`) become `_`; a name longer than SQS's 80 characters is cut and
 * ends with 8 hex digits of a SHA-256 of the whole, so that it stays unique.
 */
export function defaultQueueName(destination: string, group: string | null): string {
  const full = group === null ? destination : `${destination}-${group}`;
  let base = full.replace(/[^A-Za-z0-9_-]/g, '_');
  if (base.length > 75) base = `${base.slice(0, 66)}-${sha256(full).toString('hex').slice(0, 8)}`;
  return `${base}.fifo`;
}

export type QueueNaming = (destination: string, group: string | null) => string;

/** The queue name `naming` gives, checked against SQS's rules for a FIFO queue's name. */
export function queueName(naming: QueueNaming, destination: string, group: string | null): string {
  const name = naming(destination, group);
  if (typeof name !== 'string' || !fifoQueueName.test(name)) {
    throw new HeraldError(
      'HERALD_INVALID_DESTINATION',
      `queueFor(${JSON.stringify(destination)}, ${JSON.stringify(group)}) gave ${JSON.stringify(name)}: ` +
        'not a FIFO queue name (1-75 of A-Z a-z 0-9 - _, then .fifo)',
      { details: { destination, group, queue: name } },
    );
  }
  return name;
}

/**
 * The MessageGroupId of a partition key: SQS keeps the order of one group. The key itself when SQS
 * allows it (1-128 printable ASCII characters, no space); otherwise `#h:` and its SHA-256.
 */
export function messageGroupId(key: string): string {
  if (sqsIdPattern.test(key) && !key.startsWith(hashedGroupPrefix)) return key;
  return `${hashedGroupPrefix}${sha256(key).toString('base64url')}`;
}

/** The MessageDeduplicationId of an event id (a UUID); another id SQS does not allow is hashed. */
export function deduplicationId(id: string): string {
  return sqsIdPattern.test(id) ? id : sha256(id).toString('hex');
}

/**
 * The partition a message group is delivered as: a 31-bit FNV-1a hash of its MessageGroupId, so
 * that a group is one ordered stream whose acknowledgements never wait for another group's.
 */
export function partitionOf(groupId: string): number {
  return fnv1a(groupId) & 0x7fffffff;
}
