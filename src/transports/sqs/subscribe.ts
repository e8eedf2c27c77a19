import type { Message } from '@aws-sdk/client-sqs';
import { HeraldError } from '../../errors.ts';
import type { Delivery, PartitionLag, SubscribeOptions, Subscription } from '../transport.ts';
import { createClient, type SqsModule, withDeadline } from './client.ts';
import { toHeraldError } from './errors.ts';
import { partitionOf, queueName } from './names.ts';
import type { SqsSettings } from './options.ts';
import { createQueueDirectory } from './queues.ts';
import { createReceiptBook, type Held } from './receipts.ts';
import { headersOf, keyOf } from './wire.ts';

/** Received messages not yet handed to the consumer; receiving pauses at this many. */
const highWater = 100;

const bySequence = (a: Message, b: Message) => {
  const x = BigInt(a.Attributes?.SequenceNumber ?? '0');
  const y = BigInt(b.Attributes?.SequenceNumber ?? '0');
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * A consumer group on SQS: long-polls the group's queue of each topic. A FIFO queue hands out a
 * message group's next messages only once the earlier ones are deleted, so each delivery's
 * partition is its message group (hashed), and `ack()` deletes it and every earlier one of its
 * group that is still held. Held messages stay hidden (their visibility is extended while held);
 * `close()` makes the ones not acknowledged visible again at once, for the next subscriber.
 */
export async function subscribeSqs(
  lib: SqsModule,
  settings: SqsSettings,
  options: SubscribeOptions,
): Promise<Subscription> {
  const { target, timeoutMs } = settings;
  const client = createClient(lib, settings);
  const directory = createQueueDirectory(lib, () => client, {
    autoCreate: settings.autoCreateQueues,
    attributes: settings.queueAttributes,
    timeoutMs,
    target,
  });
  let queues: { topic: string; url: string }[];
  try {
    queues = await Promise.all(
      [...new Set(options.topics)].map(async (topic) => ({
        topic,
        url: await directory.url(queueName(settings.queueFor, topic, options.group)),
      })),
    );
  } catch (error) {
    client.destroy();
    throw toHeraldError(error, target);
  }

  const stop = new AbortController();
  const book = createReceiptBook(lib, client, settings);
  const ready: Delivery[] = [];
  let failure: HeraldError | null = null;
  let closed = false;
  let wakeReader: (() => void) | null = null;
  let wakeReceivers: (() => void)[] = [];
  const wake = () => {
    wakeReader?.();
    wakeReader = null;
  };
  const room = () => {
    for (const w of wakeReceivers) w();
    wakeReceivers = [];
  };
  const fail = (error: unknown) => {
    failure ??= toHeraldError(error, target);
    stop.abort();
    wake();
  };

  const receive = async (queue: { topic: string; url: string }) => {
    while (!closed && !failure) {
      if (ready.length >= highWater) {
        await new Promise<void>((r) => wakeReceivers.push(r));
        continue;
      }
      let messages: Message[] | undefined;
      try {
        const out = await withDeadline(
          (abortSignal) =>
            client.send(
              new lib.ReceiveMessageCommand({
                QueueUrl: queue.url,
                MaxNumberOfMessages: 10,
                WaitTimeSeconds: settings.waitTimeSeconds,
                VisibilityTimeout: settings.visibilityTimeoutSeconds,
                MessageAttributeNames: ['All'],
                MessageSystemAttributeNames: ['MessageGroupId', 'SequenceNumber'],
              }),
              { abortSignal },
            ),
          settings.waitTimeSeconds * 1000 + timeoutMs,
          target,
          stop.signal,
        );
        messages = out.Messages;
      } catch (error) {
        if (!closed) fail(error);
        return;
      }
      if (closed) {
        // A long poll that outlived close(): what it took goes back at once.
        const taken = (messages ?? []).flatMap((m) =>
          m.ReceiptHandle ? [{ url: queue.url, receipt: m.ReceiptHandle }] : [],
        );
        await book.release(taken);
        return;
      }
      // SQS returns a group's messages in order; ElasticMQ, after a restart, not always.
      for (const m of [...(messages ?? [])].sort(bySequence)) {
        if (!m.ReceiptHandle) continue;
        const groupId = m.Attributes?.MessageGroupId;
        const partition = partitionOf(groupId ?? '');
        const body = m.Body ?? '';
        const held: Held = { url: queue.url, receipt: m.ReceiptHandle };
        const stream = book.hold(`${queue.topic}\u0000${partition}`, held);
        ready.push({
          topic: queue.topic,
          partition,
          offset: m.Attributes?.SequenceNumber ?? '0',
          key: keyOf(groupId, body),
          value: Buffer.from(body, 'utf8'),
          headers: headersOf(m.MessageAttributes),
          ack: () => book.ack(stream, held),
        });
      }
      if (ready.length > 0) wake();
    }
  };
  const receivers = queues.map((q) => receive(q));
  const heartbeat = setInterval(
    () => void book.extend(),
    Math.max(1000, (settings.visibilityTimeoutSeconds * 1000) / 3),
  );
  heartbeat.unref();

  const iterate = async function* (): AsyncGenerator<Delivery> {
    for (;;) {
      if (failure) throw failure;
      const next = ready.shift();
      if (next) {
        if (ready.length < highWater) room();
        yield next;
        continue;
      }
      if (closed) return;
      await new Promise<void>((r) => {
        wakeReader = r;
      });
    }
  };

  return {
    [Symbol.asyncIterator]: iterate,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      wake();
      room();
      ready.length = 0;
      // Acknowledgements already made are sent first; what is held is then visible again at once.
      await book.close().catch(() => {});
      // A long poll under way is not aborted: the server would still hand it messages (those just
      // released, say), which would then stay hidden for the visibility timeout. It ends in the
      // background (within waitTimeSeconds), gives back what it got, and the client is closed.
      // It does not keep the process alive: if the process exits first, SQS makes what it took
      // visible again after the visibility timeout.
      client.detach();
      void Promise.allSettled(receivers).then(() => client.destroy());
    },
    async lag(): Promise<PartitionLag[]> {
      if (closed) throw new HeraldError('HERALD_STOPPED', 'the SQS subscription is closed');
      try {
        return await Promise.all(
          queues.map(async ({ topic, url }) => {
            const out = await withDeadline(
              (abortSignal) =>
                client.send(
                  new lib.GetQueueAttributesCommand({
                    QueueUrl: url,
                    AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
                  }),
                  { abortSignal },
                ),
              timeoutMs,
              target,
            );
            const count = (name: string) => Number(out.Attributes?.[name as 'ApproximateNumberOfMessages'] ?? 0);
            // SQS counts approximately, per queue: no partitions, no positions.
            const lag = count('ApproximateNumberOfMessages') + count('ApproximateNumberOfMessagesNotVisible');
            return { topic, partition: 0, committed: null, end: String(lag), lag };
          }),
        );
      } catch (error) {
        throw toHeraldError(error, target);
      }
    },
  };
}
