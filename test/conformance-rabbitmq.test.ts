import { after } from 'node:test';
import { rabbitmq } from '../src/transports/rabbitmq/index.ts';
import { queueName } from '../src/transports/rabbitmq/topology.ts';
import { conformance } from './conformance/suite.ts';
import {
  createRegistry,
  defaultMaxMessageSize,
  rabbitmqctl,
  rabbitmqUrl,
  readQueues,
  setMaxMessageSize,
  waitForRabbitMQ,
} from './support/rabbitmq.ts';

const destinations = createRegistry();

after(async () => {
  // Whatever happened, RabbitMQ is left running with its default limit, and without our queues.
  await rabbitmqctl('start_app');
  await waitForRabbitMQ();
  await setMaxMessageSize(defaultMaxMessageSize);
  await destinations.cleanUp();
});

conformance({
  name: 'rabbitmq',
  make: () => rabbitmq({ url: rabbitmqUrl, partitions: destinations.partitionsOf, timeoutMs: 3000 }),
  destination: (partitions, groups) => destinations.make(partitions, groups),
  // CloudEvents AMQP protocol binding: application properties prefixed `cloudEvents_`.
  attributeName: (attribute) => `cloudEvents_${attribute}`,
  readRaw: async (destination, count, group) => {
    const queues = Array.from({ length: destinations.partitionsOf(destination) }, (_, p) =>
      queueName(destination, group, p),
    );
    return (await readQueues(queues, count)).map((m) => ({ key: m.key, headers: m.headers, body: m.body }));
  },
  stopBroker: async () => {
    await rabbitmqctl('stop_app');
  },
  startBroker: async () => {
    await rabbitmqctl('start_app');
    await waitForRabbitMQ();
  },
  // The server's own limit, lowered at run time (channels opened from now on enforce it); the
  // transport's maxMessageBytes stays at its default, so RabbitMQ is the one that refuses.
  oversized: async (groups) => {
    await setMaxMessageSize(20_000);
    return { destination: await destinations.make(1, groups, 'herald-conf-small'), bytes: 20_000 };
  },
});
