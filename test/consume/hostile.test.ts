// Messages written by other clients, with any bytes at all, on every transport: each is
// dead-lettered with its reason and the group moves on; the valid events around them are handled
// once, in order per key. (A consumer once stalled for good on a NUL byte: dead-lettering it failed
// in PostgreSQL, and that data error was taken for an outage and retried forever.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { z } from 'zod';
import { ELASTICMQ_ENDPOINT, ELASTICMQ_REGION } from '../../infra/elasticmq.mjs';
import {
  createConsumer,
  createConsumerDeadLetters,
  defineEvent,
  isHeraldError,
  migrate,
  silentLogger,
  type Transport,
} from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { nats } from '../../src/transports/nats/index.ts';
import { postgres } from '../../src/transports/postgres/index.ts';
import { rabbitmq } from '../../src/transports/rabbitmq/index.ts';
import { sqs } from '../../src/transports/sqs/index.ts';
import type { OutgoingMessage } from '../../src/transports/transport.ts';
import { createEffects, eventMessage } from '../support/consumer.ts';
import { brokers, databaseUrl, freshSchema, type TestSchema, uniqueName } from '../support/env.ts';
import { createTopic } from '../support/kafka.ts';
import { createRegistry, rabbitmqUrl } from '../support/rabbitmq.ts';
import { waitFor } from '../support/relay-process.ts';

const Noted = defineEvent({
  type: 'hostile.noted',
  version: 1,
  schema: z.object({ key: z.string(), seq: z.number().int() }),
  key: (p) => p.key,
});

const nul = '\u0000';
/** A valid event of `Noted`, then changed by `spoil`. */
const spoiled = (topic: string, key: string, spoil: (m: OutgoingMessage) => void) => {
  const m = eventMessage(topic, Noted.type, { key, seq: -1 }, { key });
  spoil(m);
  return m;
};
const notJson = (m: OutgoingMessage) => {
  m.value = Buffer.from('{"key": "broken');
};

/** What other clients may send: each must be dead-lettered, none may stall the group. */
const cases: Record<string, (topic: string) => OutgoingMessage> = {
  // The error text made from the body holds the NUL (JSON.parse quotes it).
  'NUL in the body': (t) =>
    spoiled(t, 'h1', (m) => {
      m.value = Buffer.from(`{"key":"${nul}`);
    }),
  'bytes that are not UTF-8': (t) =>
    spoiled(t, 'h2', (m) => {
      m.value = Buffer.from([0xff, 0xfe, 0x7b, 0xc3, 0x28, 0x80]);
    }),
  'NUL in a header value': (t) =>
    spoiled(t, 'h3', (m) => {
      m.headers['x-note'] = `a${nul}b`;
      notJson(m);
    }),
  'NUL in a header name': (t) =>
    spoiled(t, 'h4', (m) => {
      m.headers[`x${nul}y`] = 'v';
      notJson(m);
    }),
  'NUL in the event id': (t) =>
    spoiled(t, 'h5', (m) => {
      m.headers.ce_id = `id${nul}x`;
      m.value = Buffer.from(JSON.stringify({ key: 'h5', seq: 1 }));
    }),
  'NUL in the event type': (t) =>
    spoiled(t, 'h6', (m) => {
      m.headers.ce_type = `hostile.noted${nul}`;
    }),
  'NUL in the key': (t) =>
    spoiled(t, 'h7', (m) => {
      m.key = `k${nul}`;
      notJson(m);
    }),
  'no CloudEvents headers': (t) => ({
    id: 'no-headers',
    topic: t,
    key: 'h8',
    value: Buffer.from('plain text'),
    headers: {},
  }),
  'an empty body': (t) =>
    spoiled(t, 'h9', (m) => {
      m.value = Buffer.alloc(0);
    }),
  'a 30 KB header': (t) =>
    spoiled(t, 'h10', (m) => {
      m.headers['x-big'] = 'z'.repeat(30_000);
      notJson(m);
    }),
  'specversion 2.0': (t) =>
    spoiled(t, 'h11', (m) => {
      m.headers.ce_specversion = '2.0';
    }),
  'a time that is not a time': (t) =>
    spoiled(t, 'h12', (m) => {
      m.headers.ce_time = 'yesterday';
    }),
  'a payload its schema refuses': (t) =>
    spoiled(t, 'h13', (m) => {
      m.value = Buffer.from(JSON.stringify({ key: 'h13', seq: 'one' }));
    }),
};

interface Broker {
  name: string;
  /** The cases this broker cannot carry: publishing them fails with a typed error instead. */
  refuses: string[];
  /** A transport that publishes to, and lets `group` read, a new destination; and that destination. */
  open(group: string): Promise<{ transport: Transport; destination: string; dlq: boolean }>;
  cleanUp?(): Promise<void>;
}

const rabbit = createRegistry();
const natsStreams: string[] = [];
const pgBroker = uniqueName('herald_hb');
const sqsCredentials = { accessKeyId: 'herald', secretAccessKey: 'herald' };
/** Cases with a NUL anywhere: SQS takes XML characters only, and PostgreSQL's text and jsonb no NUL. */
const withNul = Object.keys(cases).filter((c) => c.includes('NUL') && c !== 'NUL in the body');

const brokersUnderTest: Broker[] = [
  {
    name: 'kafka',
    refuses: [],
    open: async () => ({ transport: kafka({ brokers }), destination: await createTopic(3), dlq: true }),
  },
  {
    name: 'rabbitmq',
    refuses: [],
    open: async (group) => {
      const destination = await rabbit.make(2, [group]);
      return {
        transport: rabbitmq({ url: rabbitmqUrl, partitions: rabbit.partitionsOf, timeoutMs: 3000 }),
        destination,
        dlq: false,
      };
    },
    cleanUp: () => rabbit.cleanUp(),
  },
  {
    name: 'nats',
    refuses: ['NUL in a header name'],
    open: async () => {
      const destination = `herald-hostile.${uniqueName('d')}`;
      natsStreams.push(destination.replaceAll('.', '_'), `${destination}.dlq`.replaceAll('.', '_'));
      return { transport: nats({ servers: '127.0.0.1:4222', partitions: 2 }), destination, dlq: true };
    },
    cleanUp: async () => {
      const nc = await connect({ servers: '127.0.0.1:4222' });
      const jsm = await jetstreamManager(nc);
      for (const stream of natsStreams) await jsm.streams.delete(stream).catch(() => {});
      await nc.close();
    },
  },
  {
    name: 'sqs',
    // A body is XML text on SQS (a JSON body is sent as it is): a NUL byte cannot travel.
    refuses: ['NUL in the body'],
    open: async (group) => {
      const destination = uniqueName('herald-hostile');
      return {
        transport: sqs({
          endpoint: ELASTICMQ_ENDPOINT,
          region: ELASTICMQ_REGION,
          credentials: sqsCredentials,
          groups: (d) => (d === destination ? [group] : []),
          waitTimeSeconds: 1,
        }),
        destination,
        dlq: false,
      };
    },
  },
  {
    name: 'postgres',
    refuses: withNul,
    open: async () => ({
      transport: postgres({ db: databaseUrl, schema: pgBroker, pollIntervalMs: 50 }),
      destination: uniqueName('hostile'),
      dlq: true,
    }),
  },
];

describe('consumers take messages with any bytes at all, on every transport', () => {
  let db: TestSchema;
  let effects: string;
  before(async () => {
    db = await freshSchema();
    effects = await createEffects(db.pool, db.schema);
    await migrate(db.pool, { schema: pgBroker });
  });
  after(async () => {
    for (const b of brokersUnderTest) await b.cleanUp?.().catch(() => {});
    await db.pool.query(`DROP SCHEMA IF EXISTS "${pgBroker}" CASCADE`);
    await db.drop();
  });

  for (const broker of brokersUnderTest) {
    it(`${broker.name}: each bad message is dead-lettered with its reason; the 300 events around them are handled once, in order`, async () => {
      const group = uniqueName('g');
      const { transport, destination, dlq } = await broker.open(group);
      try {
        const carried = Object.entries(cases).filter(([name]) => !broker.refuses.includes(name));
        // What the broker cannot carry is refused at publish, with a typed error, and nothing else.
        for (const name of broker.refuses) {
          const message = (cases[name] as (t: string) => OutgoingMessage)(destination);
          await assert.rejects(
            transport.publish([message]),
            (e: unknown) => isHeraldError(e) && !e.retriable,
            `${broker.name} should refuse "${name}" with a typed, non-retriable error`,
          );
        }
        // The bad messages among 300 valid events of 10 keys, published in order.
        const messages: OutgoingMessage[] = [];
        const hostile = new Map<string, string>();
        let bad = 0;
        for (let i = 0; i < 300; i++) {
          const key = `k${i % 10}`;
          messages.push(eventMessage(destination, Noted.type, { key, seq: Math.floor(i / 10) }, { key }));
          if (i % 20 === 5 && bad < carried.length) {
            const [name, make] = carried[bad++] as [string, (t: string) => OutgoingMessage];
            const m = make(destination);
            hostile.set(name, m.headers.ce_id ?? m.id);
            messages.push(m);
          }
        }
        for (const [name, make] of carried.slice(bad)) {
          const m = make(destination);
          hostile.set(name, m.headers.ce_id ?? m.id);
          messages.push(m);
        }
        for (let i = 0; i < messages.length; i += 25) await transport.publish(messages.slice(i, i + 25));

        const consumer = createConsumer({
          transport,
          group,
          db: db.pool,
          schema: db.schema,
          topics: [destination],
          onUnknownType: 'dead-letter',
          retry: { attempts: 2, initialMs: 5, maxMs: 20 },
          ...(dlq ? {} : { deadLetterTopic: false as const }),
          logger: silentLogger,
        });
        consumer.on(Noted, async (event, { tx }) => {
          await tx.query(`INSERT INTO ${effects} (event_id, key, seq) VALUES ($1, $2, $3)`, [
            event.id,
            event.payload.key,
            event.payload.seq,
          ]);
        });
        await consumer.start();
        try {
          await waitFor(
            `300 handled and ${carried.length} dead-lettered`,
            () => consumer.stats().handled === 300 && consumer.stats().deadLettered === carried.length,
            60_000,
          );
        } finally {
          await consumer.stop();
        }
        const stats = consumer.stats();
        assert.equal(stats.circuit, 'closed', 'no data error was taken for an outage');
        const rows = await db.pool.query<{ key: string; seqs: number[] }>(
          `SELECT key, array_agg(seq ORDER BY n) AS seqs FROM ${effects}
           WHERE event_id = ANY($1::text[]) GROUP BY key`,
          [messages.filter((m) => m.headers.ce_type === Noted.type && m.key.startsWith('k')).map((m) => m.id)],
        );
        assert.equal(rows.rows.length, 10);
        for (const row of rows.rows) {
          assert.deepEqual(
            row.seqs,
            Array.from({ length: 30 }, (_, i) => i),
            `${row.key}: each event once, in order`,
          );
        }
        const letters = createConsumerDeadLetters({ db: db.pool, schema: db.schema });
        const dead = await letters.list({ groups: [group], limit: 1000 });
        await letters.close();
        assert.equal(dead.length, carried.length, dead.map((d) => `${d.id}: ${d.error.code}`).join('\n'));
        for (const d of dead) {
          assert.match(d.error.code, /^HERALD_/, `${d.id} has a reason`);
          assert.ok(d.error.message.length > 0);
          assert.ok(!d.error.message.includes(nul) && !d.id.includes(nul), 'stored text holds no NUL');
        }
        assert.equal(stats.deadLettered, carried.length);
      } finally {
        await transport.close();
      }
    });
  }
});
