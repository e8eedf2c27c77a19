import { after } from 'node:test';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { privateNats } from '../../../infra/nats.mjs';
import { nats } from '../../../src/transports/nats/index.ts';
import type { RawMessage } from '../../conformance/harness.ts';
import { conformance } from '../../conformance/suite.ts';
import { uniqueName } from '../../support/env.ts';

const servers = process.env.NATS_URL ?? '127.0.0.1:4222';

/** A plain NATS client, not Herald's transport: the suite checks the wire with the broker's own client. */
async function withClient<T>(fn: (nc: NatsConnection) => Promise<T>, at = servers): Promise<T> {
  const nc = await connect({ servers: at, timeout: 5000 });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

const created: string[] = [];
// The streams this file made on the shared server go with it (they are on disk: they would slow
// every restart). A private server's go with the server.
after(() =>
  withClient(async (nc) => {
    const jsm = await jetstreamManager(nc);
    for (const stream of created) await jsm.streams.delete(stream).catch(() => {});
  }),
);

/** A stream made the way docs/nats.md says to pre-create one: subjects `<destination>.*`, partitions in the description. */
async function createStream(partitions: number, extra: { max_msg_size?: number } = {}, at = servers): Promise<string> {
  // A dot in the name: the stream is `herald-conf_<hex>`, the subjects keep the dots.
  const destination = `herald-conf.${uniqueName('d')}`;
  const name = destination.replaceAll('.', '_');
  if (at === servers) created.push(name);
  await withClient(async (nc) => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name,
      subjects: [`${destination}.*`],
      storage: StorageType.File,
      description: `herald partitions=${partitions}`,
      ...extra,
    });
  }, at);
  return destination;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The transport under test on the server `at`, and a way to make its streams there. */
const on = (at: string) => ({
  make: () => nats({ servers: at, timeoutMs: 2000 }),
  destination: (partitions: number) => createStream(partitions, {}, at),
});

conformance({
  name: 'nats',
  ...on(servers),
  // CloudEvents NATS protocol binding: `ce-` headers.
  attributeName: (attribute) => `ce-${attribute}`,
  readRaw: (destination, count) =>
    withClient(async (nc) => {
      // An ordered (ephemeral) consumer from the start of the stream.
      const consumer = await jetstream(nc).consumers.get(destination.replaceAll('.', '_'));
      const out: RawMessage[] = [];
      const messages = await consumer.fetch({ max_messages: count, expires: 3000 });
      for await (const m of messages) {
        const headers: Record<string, string> = {};
        for (const name of m.headers?.keys() ?? []) headers[name] = m.headers?.get(name) ?? '';
        out.push({ key: headers['herald-key'] ?? null, headers, body: m.string() });
        if (out.length === count) break;
      }
      return out;
    }),
  // A nats-server of its own (infra/nats.mjs), stopped with SIGTERM and started again on the same
  // port and JetStream store.
  privateBroker: async () => {
    const server = await privateNats();
    return {
      ...on(server.servers),
      stopBroker: async () => {
        await server.stop();
      },
      startBroker: async () => {
        await server.start();
        await until('nats-server and JetStream to answer', () =>
          withClient(async (nc) => {
            await (await jetstreamManager(nc)).getAccountInfo();
            return true;
          }, server.servers),
        );
      },
      destroy: server.destroy,
    };
  },
  oversized: async () => ({ destination: await createStream(1, { max_msg_size: 20_000 }), bytes: 20_000 }),
});
