import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { resolveOptions } from '../../src/transports/rabbitmq/options.ts';
import { declareTopology, dlxSuffix, queueName } from '../../src/transports/rabbitmq/topology.ts';
import { uniqueName } from './env.ts';

const run = promisify(execFile);

export const rabbitmqUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** RabbitMQ's default max_message_size (128 MiB). */
export const defaultMaxMessageSize = 134_217_728;

export interface RawAmqpMessage {
  key: string | null;
  /** Application properties as on the wire (values as text). */
  headers: Record<string, string>;
  contentType: string | null;
  messageId: string | null;
  body: string;
}

/** A connection of the test's own (not Herald's), closed after `fn`; to the shared broker unless `url` says otherwise. */
export async function withChannel<T>(fn: (channel: amqp.Channel) => Promise<T>, url = rabbitmqUrl): Promise<T> {
  const connection = await amqp.connect(url);
  connection.on('error', () => {});
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    return await fn(channel);
  } finally {
    await connection.close().catch(() => {});
  }
}

/**
 * Destinations made by the tests, with the partitions and groups they were made for, so that
 * the transport under test is given the same partition count and the tests can clean up. On the
 * shared broker unless `url` names another (a private node of infra/rabbitmq.mjs).
 */
export function createRegistry(url = rabbitmqUrl) {
  const made = new Map<string, { partitions: number; groups: Set<string> }>();
  const partitionsOf = (destination: string) => made.get(destination)?.partitions ?? 1;
  return {
    partitionsOf,
    /** A new destination's name, nothing declared yet (cleaned up like the others). */
    name(partitions: number, groups: string[], prefix = 'herald-test'): string {
      const destination = uniqueName(prefix);
      made.set(destination, { partitions, groups: new Set(groups) });
      return destination;
    },
    /** A new destination: its exchange, dead-letter exchange and the groups' queues. */
    async make(partitions: number, groups: string[], prefix = 'herald-conf'): Promise<string> {
      const destination = uniqueName(prefix);
      made.set(destination, { partitions, groups: new Set(groups) });
      const settings = resolveOptions({ url, partitions: partitionsOf });
      await withChannel((channel) => declareTopology(channel, settings, destination, groups), url);
      return destination;
    },
    /** Deletes every exchange and queue the tests made (and those Herald made for them). */
    async cleanUp(): Promise<void> {
      await withChannel(async (channel) => {
        for (const [destination, { partitions, groups }] of made) {
          for (const d of [destination, `${destination}.dlq`]) {
            for (const group of groups) {
              for (let p = 0; p < partitions; p++) await channel.deleteQueue(queueName(d, group, p));
            }
            await channel.deleteQueue(`${d}${dlxSuffix}`);
            await channel.deleteExchange(`${d}${dlxSuffix}`);
            await channel.deleteExchange(d);
          }
          await channel.deleteQueue(`${destination}.dlq`);
        }
      }, url);
      made.clear();
    },
  };
}

const text = (v: unknown) => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

function raw(m: amqp.ConsumeMessage): RawAmqpMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.properties.headers ?? {})) headers[k] = text(v);
  return {
    key: headers.herald_key ?? null,
    headers,
    contentType: m.properties.contentType ?? null,
    messageId: m.properties.messageId ?? null,
    body: m.content.toString('utf8'),
  };
}

/**
 * Takes up to `count` messages from a group's partition queues (each is read once) within
 * `timeoutMs`. basic.get is refused on quorum queues with single active consumer, so this
 * consumes: it acknowledges what it takes, and closing the channel returns the rest.
 */
export async function readQueues(queues: string[], count: number, timeoutMs = 15_000): Promise<RawAmqpMessage[]> {
  return withChannel(async (channel) => {
    const out: RawAmqpMessage[] = [];
    await channel.prefetch(count);
    let done!: () => void;
    const enough = new Promise<void>((resolve) => {
      done = resolve;
    });
    for (const queue of queues) {
      await channel.consume(queue, (m) => {
        if (m === null || out.length >= count) return;
        out.push(raw(m));
        channel.ack(m);
        if (out.length >= count) done();
      });
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([enough, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    return out.slice(0, count);
  });
}

/** rabbitmqctl on the shared node: for what touches only the test's own queues and settings, never to stop it. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', args, { timeout: 120_000 });
  return stdout;
}

/**
 * Sets RabbitMQ's max_message_size at run time (channels opened afterwards enforce it); resolves
 * the value it had, to put back (RabbitMQ's default when none was set).
 */
export async function setMaxMessageSize(bytes: number): Promise<number> {
  const before = await rabbitmqctl(
    'eval',
    `Before = application:get_env(rabbit, max_message_size), application:set_env(rabbit, max_message_size, ${bytes}), Before.`,
  );
  const set = /\{ok,\s*(\d+)\}/.exec(before);
  return set ? Number(set[1]) : defaultMaxMessageSize;
}

/** Waits until a new connection and channel work (on the shared broker unless `url` says otherwise). */
export async function waitForRabbitMQ(timeoutMs = 60_000, url = rabbitmqUrl): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await withChannel(async () => {}, url);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
