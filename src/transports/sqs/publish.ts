import { checkDestination } from '../../config/names.ts';
import { HeraldError } from '../../errors.ts';
import type { OutgoingMessage } from '../transport.ts';
import { createClient, loadSqs, type SqsClient, type SqsModule, withDeadline } from './client.ts';
import { entryError, isQueueMissing, toHeraldError } from './errors.ts';
import { deduplicationId, messageGroupId, queueName } from './names.ts';
import type { SqsSettings } from './options.ts';
import { createQueueDirectory, type QueueDirectory } from './queues.ts';
import { packBatches, toWire, type WireMessage } from './wire.ts';

interface Encoded {
  message: OutgoingMessage;
  groupId: string;
  wire: WireMessage;
}

/** SendMessageBatch takes at most 10 entries. */
const maxEntries = 10;

/** The error to report when several queues failed: one that retrying cannot fix, else the first. */
const worst = (errors: HeraldError[]) => errors.find((e) => !e.retriable) ?? (errors[0] as HeraldError);

/**
 * The publishing side of an sqs() transport: each message goes to the queue of every group of its
 * destination (SQS has no fan-out), queues side by side, each queue's batches one after the other.
 */
export function createPublisher(settings: SqsSettings) {
  const { target } = settings;
  let lib: SqsModule | null = null;
  let client: SqsClient | null = null;
  let queues: QueueDirectory | null = null;

  const open = async () => {
    lib ??= await loadSqs();
    if (!client) {
      const c = createClient(lib, settings);
      client = c;
      queues = createQueueDirectory(lib, () => c, {
        autoCreate: settings.autoCreateQueues,
        attributes: settings.queueAttributes,
        timeoutMs: settings.timeoutMs,
        target,
      });
    }
    return { lib, client, queues: queues as QueueDirectory };
  };

  const call = <T>(run: (signal: AbortSignal) => Promise<T>) =>
    withDeadline(run, settings.timeoutMs * 2 + 1000, target);

  /** Sends one queue's messages in order; stops at the first batch with a failed entry. */
  const sendToQueue = async (name: string, messages: Encoded[]) => {
    const { lib, client, queues } = await open();
    const url = await queues.url(name);
    for (const batch of packBatches(messages, maxEntries, settings.maxMessageBytes)) {
      const result = await call((abortSignal) =>
        client.send(
          new lib.SendMessageBatchCommand({
            QueueUrl: url,
            Entries: batch.map((m, i) => ({
              Id: String(i),
              MessageBody: m.wire.body,
              MessageGroupId: m.groupId,
              MessageDeduplicationId: deduplicationId(m.message.id),
              MessageAttributes: Object.fromEntries(
                Object.entries(m.wire.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
              ),
            })),
          }),
          { abortSignal },
        ),
      ).catch((error: unknown) => {
        if (isQueueMissing(error) && settings.autoCreateQueues) {
          queues.forget(name); // deleted since it was looked up: made again on the next attempt
          throw new HeraldError('HERALD_PUBLISH_FAILED', `SQS queue ${name} is gone; it is created again on retry`, {
            cause: error,
            retriable: true,
          });
        }
        throw toHeraldError(error, target);
      });
      const failed = result.Failed ?? [];
      if (failed.length > 0) {
        const errors = failed.map((f) => {
          const e = toHeraldError(entryError(f), target);
          const m = batch[Number(f.Id)];
          e.details.queue = name;
          if (m) e.details.id = m.message.id;
          return e;
        });
        const e = worst(errors);
        throw new HeraldError(e.code, `${failed.length} of ${batch.length} messages to ${name} failed: ${e.message}`, {
          cause: e,
          retriable: errors.every((x) => x.retriable),
          details: e.details,
        });
      }
    }
  };

  /** A topic's queues: one per group, or the destination's own when it has no group. */
  const queuesOf = (topic: string) => {
    const groups = settings.groupsOf(topic);
    return (groups.length > 0 ? groups : [null]).map((group) => queueName(settings.queueFor, topic, group));
  };

  /** The batch encoded, checked against the size limit, and split by queue in its order. */
  const byQueue = (messages: readonly OutgoingMessage[]) => {
    const out = new Map<string, Encoded[]>();
    // A topic's queues, worked out once per call rather than per message.
    const known = new Map<string, string[]>();
    for (const message of messages) {
      const wire = toWire(message);
      if (wire.bytes > settings.maxMessageBytes) {
        throw new HeraldError(
          'HERALD_MESSAGE_TOO_LARGE',
          `event ${message.id} is ${wire.bytes} bytes on SQS (body and attributes); the limit is ${settings.maxMessageBytes}`,
          { details: { id: message.id, bytes: wire.bytes, limit: settings.maxMessageBytes } },
        );
      }
      const encoded = { message, groupId: messageGroupId(message.key), wire };
      let names = known.get(message.topic);
      if (!names) {
        names = queuesOf(message.topic);
        known.set(message.topic, names);
      }
      for (const name of names) {
        const list = out.get(name);
        if (list) list.push(encoded);
        else out.set(name, [encoded]);
      }
    }
    return out;
  };

  return {
    async connect(): Promise<void> {
      const { lib, client } = await open();
      try {
        await call((abortSignal) => client.send(new lib.ListQueuesCommand({ MaxResults: 1 }), { abortSignal }));
      } catch (error) {
        const e = toHeraldError(error, target);
        // Reached, and the credentials were taken: only listing queues is not allowed.
        if (!(e.details.codes as string[] | undefined)?.some((c) => /^AccessDenied/.test(c))) throw e;
      }
    },
    async publish(messages: readonly OutgoingMessage[]): Promise<void> {
      for (const m of messages) checkDestination(m.topic, `topic of event ${m.id}`);
      const results = await Promise.allSettled([...byQueue(messages)].map(([name, list]) => sendToQueue(name, list)));
      const errors = results
        .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
        .map((r) => toHeraldError(r.reason, target));
      if (errors.length > 0) throw worst(errors);
    },
    async close(): Promise<void> {
      const c = client;
      client = null;
      queues = null;
      c?.destroy();
    },
  };
}
