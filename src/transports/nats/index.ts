import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { invalidSetting } from '../../config/check.ts';
import type { Subscription, Transport } from '../transport.ts';
import { type NatsOptions, natsSettings } from './options.ts';
import { createPublisher } from './publish.ts';
import { subscribeNats } from './subscribe.ts';

export type { NatsOptions } from './options.ts';

/**
 * NATS JetStream through @nats-io/transport-node and @nats-io/jetstream. A destination is a
 * stream (`orders.created` -> stream `orders_created`) with one subject per partition
 * (`orders.created.0` ...); a message goes to the partition of its key (FNV-1a), with its event id
 * as Nats-Msg-Id so the server drops a re-publish inside the stream's duplicate window. Each
 * partition is published in order, one PubAck at a time; partitions go side by side. A group is
 * read by the member holding its lease (see lease.ts). See docs/nats.md.
 */
export function nats(options: NatsOptions): Transport {
  const settings = natsSettings(options);
  const publisher = createPublisher(settings);
  // Who holds a group's lease: this transport (a consumer that subscribes again takes its own back).
  const owner = `${hostname()}/${process.pid}/${randomUUID()}`;
  const reading = new Set<string>();
  return {
    name: 'nats',
    describe: () => settings.target,
    connect: () => publisher.connect(),
    publish: (messages) => publisher.publish(messages),
    async subscribe(subscription): Promise<Subscription> {
      // The lease is this transport's: two open subscriptions of one group on it would both read.
      if (reading.has(subscription.group)) {
        throw invalidSetting(
          'group',
          'already has an open subscription on this transport; give each member its own nats() transport',
          subscription.group,
        );
      }
      reading.add(subscription.group);
      try {
        const opened = await subscribeNats(settings, subscription, owner);
        return {
          ...opened,
          [Symbol.asyncIterator]: () => opened[Symbol.asyncIterator](),
          async close() {
            try {
              await opened.close();
            } finally {
              reading.delete(subscription.group);
            }
          },
        };
      } catch (error) {
        reading.delete(subscription.group);
        throw error;
      }
    },
    close: () => publisher.close(),
  };
}
