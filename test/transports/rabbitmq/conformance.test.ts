import { after } from 'node:test';
import { privateRabbitMq } from '../../../infra/rabbitmq.mjs';
import { rabbitmq } from '../../../src/transports/rabbitmq/index.ts';
import { queueName } from '../../../src/transports/rabbitmq/topology.ts';
import { conformance } from '../../conformance/suite.ts';
import { createRegistry, rabbitmqUrl, readQueues, setMaxMessageSize, waitForRabbitMQ } from '../../support/rabbitmq.ts';

const destinations = createRegistry();
/** The shared broker's max_message_size before the oversized test lowered it. */
let maxMessageSize: number | undefined;

after(async () => {
  // Whatever happened, the shared RabbitMQ keeps the limit it had, and loses our queues.
  if (maxMessageSize !== undefined) await setMaxMessageSize(maxMessageSize);
  await destinations.cleanUp();
});

/** The transport under test on the broker at `url`, and a way to make its destinations there. */
const on = (url: string, registry: ReturnType<typeof createRegistry>) => ({
  make: () => rabbitmq({ url, partitions: registry.partitionsOf, timeoutMs: 3000 }),
  destination: (partitions: number, groups: string[]) => registry.make(partitions, groups),
});

conformance({
  name: 'rabbitmq',
  ...on(rabbitmqUrl, destinations),
  // CloudEvents AMQP protocol binding: application properties prefixed `cloudEvents_`.
  attributeName: (attribute) => `cloudEvents_${attribute}`,
  readRaw: async (destination, count, group) => {
    const queues = Array.from({ length: destinations.partitionsOf(destination) }, (_, p) =>
      queueName(destination, group, p),
    );
    return (await readQueues(queues, count)).map((m) => ({ key: m.key, headers: m.headers, body: m.body }));
  },
  // A node of its own (infra/rabbitmq.mjs): the broker application is stopped and started in it
  // (rabbitmqctl -n <node> stop_app / start_app).
  privateBroker: async () => {
    const node = await privateRabbitMq();
    return {
      ...on(node.url, createRegistry(node.url)),
      stopBroker: () => node.stopApp(),
      startBroker: async () => {
        await node.startApp();
        await waitForRabbitMQ(60_000, node.url);
      },
      destroy: node.destroy,
    };
  },
  // The server's own limit, lowered at run time (channels opened from now on enforce it); the
  // transport's maxMessageBytes stays at its default, so RabbitMQ is the one that refuses.
  oversized: async (groups) => {
    const before = await setMaxMessageSize(20_000);
    maxMessageSize ??= before;
    return { destination: await destinations.make(1, groups, 'herald-conf-small'), bytes: 20_000 };
  },
});
