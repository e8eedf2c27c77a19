import type { Message } from '@aws-sdk/client-sqs';
import { HeraldError } from '../../errors.ts';
import { createDeliveryQueue, queuedSubscription } from '../delivery-queue.ts';
import type { Delivery, PartitionLag, SubscribeOptions, Subscription } from '../transport.ts';
import { createClient, type SqsClient, type SqsModule, withDeadline } from './client.ts';
import { toHeraldError } from './errors.ts';
import { partitionOf, queueName } from './names.ts';
import type { SqsSettings } from './options.ts';
import { createQueueDirectory } from './queues.ts';
import { createReceiptBook, type Held, type ReceiptBook } from './receipts.ts';
import { headersOf, keyOf } from './wire.ts';

/** Received messages not yet handed to the consumer; receiving pauses at this many. */
const highWater = 100;

/** The group's queue of a topic. */
interface GroupQueue {
  topic: string;
  url: string;
}

const bySequence = (a: Message, b: Message) => {
  const x = BigInt(a.Attributes?.SequenceNumber ?? '0');
  const y = BigInt(b.Attributes?.SequenceNumber ?? '0');
  return x < y ? -1 : x > y ? 1 : 0;
};

/** The group's queue of each topic, looked up (or created) once. */
async function groupQueues(lib: SqsModule, client: SqsClient, settings: SqsSettings, options: SubscribeOptions) {
  const directory = createQueueDirectory(lib, () => client, {
    autoCreate: settings.autoCreateQueues,
    attributes: settings.queueAttributes,
    timeoutMs: settings.timeoutMs,
    target: settings.target,
  });
  return Promise.all(
    [...new Set(options.topics)].map(async (topic) => ({
      topic,
      url: await directory.url(queueName(settings.queueFor, topic, options.group)),
    })),
  );
}

/** One long poll of a queue: up to 10 messages, with their group and sequence. */
function receiveOnce(lib: SqsModule, client: SqsClient, settings: SqsSettings, queue: GroupQueue, stop: AbortSignal) {
  return withDeadline(
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
    settings.waitTimeSeconds * 1000 + settings.timeoutMs,
    settings.target,
    stop,
  );
}

/**
 * Received messages as deliveries, held in the receipt book: a delivery's partition is its
 * message group (hashed), and ack() deletes it and every earlier one of its group still held.
 */
function toDeliveries(queue: GroupQueue, messages: Message[], book: ReceiptBook): Delivery[] {
  const out: Delivery[] = [];
  // SQS returns a group's messages in order; ElasticMQ, after a restart, not always.
  for (const m of [...messages].sort(bySequence)) {
    if (!m.ReceiptHandle) continue;
    const groupId = m.Attributes?.MessageGroupId;
    const partition = partitionOf(groupId ?? '');
    const body = m.Body ?? '';
    const held: Held = { url: queue.url, receipt: m.ReceiptHandle };
    const stream = book.hold(`${queue.topic}\u0000${partition}`, held);
    out.push({
      topic: queue.topic,
      partition,
      offset: m.Attributes?.SequenceNumber ?? '0',
      key: keyOf(groupId, body),
      value: Buffer.from(body, 'utf8'),
      headers: headersOf(m.MessageAttributes),
      ack: () => book.ack(stream, held),
    });
  }
  return out;
}

/** Lag per topic: the approximate count of the group's queue. SQS only counts: no partitions, no positions. */
async function measureLag(lib: SqsModule, client: SqsClient, settings: SqsSettings, queues: GroupQueue[]) {
  return Promise.all(
    queues.map(async ({ topic, url }): Promise<PartitionLag> => {
      const out = await withDeadline(
        (abortSignal) =>
          client.send(
            new lib.GetQueueAttributesCommand({
              QueueUrl: url,
              AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
            }),
            { abortSignal },
          ),
        settings.timeoutMs,
        settings.target,
      );
      const count = (name: string) => Number(out.Attributes?.[name as 'ApproximateNumberOfMessages'] ?? 0);
      return {
        topic,
        partition: 0,
        lag: count('ApproximateNumberOfMessages') + count('ApproximateNumberOfMessagesNotVisible'),
      };
    }),
  );
}

/**
 * A consumer group on SQS: a loop per topic long-polls the group's queue into one delivery
 * queue, pausing while `highWater` deliveries wait. A FIFO queue hands out a message group's next
 * messages only once the earlier ones are deleted, so each delivery's partition is its message
 * group. Held messages stay hidden (their visibility is extended while held); `close()` makes the
 * ones not acknowledged visible again at once, for the next subscriber.
 */
export async function subscribeSqs(
  lib: SqsModule,
  settings: SqsSettings,
  options: SubscribeOptions,
): Promise<Subscription> {
  const { target } = settings;
  const client = createClient(lib, settings);
  let queues: GroupQueue[];
  try {
    queues = await groupQueues(lib, client, settings, options);
  } catch (error) {
    client.destroy();
    throw toHeraldError(error, target);
  }

  const stop = new AbortController();
  const book = createReceiptBook(lib, client, settings);
  const deliveries = createDeliveryQueue<Delivery>(highWater);
  let closed = false;
  // The first failure stops every receive; later ones, and any after close(), say nothing new.
  const fail = (error: unknown) => {
    if (deliveries.finished) return;
    deliveries.fail(toHeraldError(error, target));
    stop.abort();
  };

  /** One queue's fetch loop, while there is room; a failed receive fails the subscription. */
  const receive = async (queue: GroupQueue) => {
    while (!deliveries.finished) {
      await deliveries.room();
      if (deliveries.finished) return;
      let messages: Message[];
      try {
        messages = (await receiveOnce(lib, client, settings, queue, stop.signal)).Messages ?? [];
      } catch (error) {
        fail(error);
        return;
      }
      if (closed) {
        // A long poll that outlived close(): what it took goes back at once.
        await book.release(
          messages.flatMap((m) => (m.ReceiptHandle ? [{ url: queue.url, receipt: m.ReceiptHandle }] : [])),
        );
        return;
      }
      for (const delivery of toDeliveries(queue, messages, book)) deliveries.push(delivery);
    }
  };
  const receivers = queues.map((q) => receive(q));
  const heartbeat = setInterval(
    () => void book.extend(),
    Math.max(1000, (settings.visibilityTimeoutSeconds * 1000) / 3),
  );
  heartbeat.unref();

  return queuedSubscription(deliveries, {
    async shutdown() {
      closed = true;
      clearInterval(heartbeat);
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
    async lag() {
      if (closed) throw new HeraldError('HERALD_STOPPED', 'the SQS subscription is closed');
      try {
        return await measureLag(lib, client, settings, queues);
      } catch (error) {
        throw toHeraldError(error, target);
      }
    },
  });
}
