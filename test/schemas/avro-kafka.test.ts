import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import avsc from 'avsc';
import { z } from 'zod';
import {
  createConsumer,
  createConsumerDeadLetters,
  createOutbox,
  createRelay,
  defineEvent,
  silentLogger,
} from '../../src/index.ts';
import { avroFormat } from '../../src/schemas/avro.ts';
import { confluentRegistry } from '../../src/schemas/confluent.ts';
import { withFormat } from '../../src/transports/formatted.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { postgres } from '../../src/transports/postgres/index.ts';
import { brokers, databaseUrl, freshSchema, inTransaction, type TestSchema, uniqueName } from '../support/env.ts';
import { createTopic, readTopic } from '../support/kafka.ts';
import { recordingProxy, registryUnavailable, registryUrl } from '../support/registry.ts';
import { waitFor } from '../support/relay-process.ts';

// #region avro
const StockReserved = defineEvent({
  type: uniqueName('inventory.stock.reserved'), // the registry subject
  version: 1,
  schema: z.object({ reservationId: z.string(), productId: z.string(), quantity: z.number().int() }),
  key: (p) => p.productId,
  avro: {
    type: 'record',
    name: 'StockReserved',
    namespace: 'inventory',
    fields: [
      { name: 'reservationId', type: 'string' },
      { name: 'productId', type: 'string' },
      { name: 'quantity', type: 'int' },
    ],
  },
});
// #endregion avro

describe('Avro on Kafka with a Confluent-compatible registry, end to end', () => {
  let url: string | null = null;
  let db: TestSchema;
  const plain = kafka({ brokers });
  before(async () => {
    url = await registryUrl();
    db = await freshSchema();
  });
  after(async () => {
    await plain.close();
    await db.drop();
  });

  it('the relay publishes Avro with the Confluent header; a plain Kafka consumer and a Herald consumer read it back', async (t) => {
    if (!url) return t.skip(`no registry: ${registryUnavailable}`);
    const topic = await createTopic(2);
    // #region relay
    const registry = confluentRegistry({ url }); // Apicurio's: http://127.0.0.1:8081/apis/ccompat/v7
    const avro = avroFormat({ registry, events: [StockReserved] });
    const transport = withFormat(kafka({ brokers }), avro);
    const relay = createRelay({ db: db.pool, schema: db.schema, transport, logger: silentLogger });
    // #endregion relay
    const outbox = createOutbox({ schema: db.schema });
    const payloads = Array.from({ length: 6 }, (_, i) => ({
      reservationId: `r-${i}`,
      productId: `p-${i % 3}`,
      quantity: i + 1,
    }));
    const written = await inTransaction(db.pool, (tx) =>
      outbox.add(
        tx,
        payloads.map((p) => StockReserved(p, { destination: topic })),
      ),
    );
    assert.equal((await relay.drain()).published, 6);

    // A plain consumer: the Confluent framing, the schema fetched from the registry by id (raw
    // HTTP, not Herald's client), the body decoded by avsc.
    const read = await readTopic(topic, 6);
    assert.equal(read.length, 6);
    const decoded = [];
    for (const r of read) {
      assert.equal(r.bytes[0], 0, 'magic byte');
      const id = r.bytes.readUInt32BE(1);
      const res = await fetch(`${url}/schemas/ids/${id}`);
      const { schema } = (await res.json()) as { schema: string };
      decoded.push(avsc.Type.forSchema(JSON.parse(schema)).fromBuffer(r.bytes.subarray(5)));
      assert.equal(r.headers['content-type'], 'application/avro');
      assert.equal(r.headers.ce_type, StockReserved.type);
      assert.equal(r.headers.ce_dataschema, `${url}/subjects/${StockReserved.type}/versions/1`);
      assert.ok(r.bytes.length < Buffer.byteLength(JSON.stringify(payloads[0])), 'Avro is smaller than the JSON');
    }
    const byReservation = (a: { reservationId: string }, b: { reservationId: string }) =>
      a.reservationId.localeCompare(b.reservationId);
    assert.deepEqual(decoded.map((d) => ({ ...d })).sort(byReservation), [...payloads].sort(byReservation));
    const registered = await registry.versions(StockReserved.type);
    assert.equal(registered.length, 1, 'registered once under the type, as version 1');

    // A Herald consumer decodes by id.
    const group = uniqueName('g');
    const consumer = createConsumer({
      transport: withFormat(
        kafka({ brokers }),
        avroFormat({ registry: confluentRegistry({ url }), events: [StockReserved] }),
      ),
      group,
      topics: [topic],
      db: db.pool,
      schema: db.schema,
      deadLetterTopic: false,
      logger: silentLogger,
    });
    const handled: { id: string; payload: unknown }[] = [];
    consumer.on(StockReserved, (event) => {
      handled.push({ id: event.id, payload: event.payload });
    });
    await consumer.start();
    try {
      await waitFor('six events', () => consumer.stats().handled === 6, 30_000);
    } finally {
      await consumer.stop();
    }
    assert.deepEqual(handled.map((h) => h.id).sort(), written.map((w) => w.id).sort());
    assert.deepEqual(
      handled.map((h) => h.payload as (typeof payloads)[number]).sort(byReservation),
      [...payloads].sort(byReservation),
    );
  });

  it('dead-letters a wrong magic byte, truncated Avro and an unknown id with the reason; retries a registry outage', async (t) => {
    if (!url) return t.skip(`no registry: ${registryUnavailable}`);
    const topic = await createTopic(1);
    const registry = confluentRegistry({ url });
    const avro = avroFormat({ registry, events: [StockReserved] });
    // Good messages, encoded as the relay would.
    const message = async (n: number) =>
      avro.encode(
        {
          id: `00000000-0000-7000-8000-00000000000${n}`,
          topic,
          key: 'p',
          value: Buffer.from(JSON.stringify({ reservationId: `r-${n}`, productId: 'p', quantity: n })),
          headers: {
            ce_specversion: '1.0',
            ce_id: `00000000-0000-7000-8000-00000000000${n}`,
            ce_type: StockReserved.type,
            ce_source: '/test',
            ce_dataversion: '1',
            'content-type': 'application/json',
          },
        },
        'kafka',
      );
    const good = await message(1);
    const wrongMagic = {
      ...(await message(2)),
      value: Buffer.concat([Buffer.from([1]), (await message(2)).value.subarray(1)]),
    };
    const full = await message(3);
    const truncated = { ...full, value: full.value.subarray(0, full.value.length - 2) };
    const unknownId = { ...(await message(4)), value: Buffer.from([0, 0x7f, 0xff, 0xff, 0x00, 2, 0x61]) };
    const last = await message(5);
    await plain.publish([good, wrongMagic, truncated, unknownId, last]);

    // The consumer reads through a proxy that is down (503) at first: nothing may be dead-lettered
    // for it, and everything is handled once it is back.
    const proxy = await recordingProxy(url);
    t.after(proxy.close);
    proxy.state.down = true;
    const group = uniqueName('g');
    const consumer = createConsumer({
      transport: withFormat(
        kafka({ brokers }),
        avroFormat({ registry: confluentRegistry({ url: proxy.url }), events: [StockReserved] }),
      ),
      group,
      topics: [topic],
      db: db.pool,
      schema: db.schema,
      deadLetterTopic: false,
      logger: silentLogger,
    });
    const handled: number[] = [];
    consumer.on(StockReserved, (event) => {
      handled.push(event.payload.quantity);
    });
    await consumer.start();
    try {
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(consumer.stats().deadLettered, 0, 'a registry outage dead-letters nothing');
      assert.equal(consumer.stats().handled, 0);
      proxy.state.down = false;
      await waitFor('all five', () => consumer.stats().handled + consumer.stats().deadLettered === 5, 30_000);
    } finally {
      await consumer.stop();
    }
    assert.deepEqual(handled, [1, 5]);
    const letters = createConsumerDeadLetters({ db: db.pool, schema: db.schema });
    const dead = await letters.list({ groups: [group] });
    await letters.close();
    const reason = new Map(dead.map((d) => [d.id, d.error]));
    assert.equal(dead.length, 3);
    assert.equal(reason.get(wrongMagic.id)?.code, 'HERALD_UNDECODABLE_MESSAGE');
    assert.match(reason.get(wrongMagic.id)?.message ?? '', /wrong magic byte 1/);
    assert.equal(reason.get(truncated.id)?.code, 'HERALD_UNDECODABLE_MESSAGE');
    assert.match(reason.get(truncated.id)?.message ?? '', /not Avro of schema/);
    assert.equal(reason.get(unknownId.id)?.code, 'HERALD_UNKNOWN_SCHEMA');
    const kept = dead.find((d) => d.id === truncated.id);
    assert.equal(kept?.body, truncated.value.toString(), 'the bytes as they arrived are kept');
  });

  // Found by test/consume/decode-fuzz.test.ts: a structured-mode body of random bytes starting
  // with 0 was taken for Confluent framing (asking the registry for a random id, and dead-lettered
  // as HERALD_UNKNOWN_SCHEMA) although its content-type said JSON.
  it('a value starting with 0 whose content-type says JSON is not Avro: passed on as it is, no registry asked', async (t) => {
    if (!url) return t.skip(`no registry: ${registryUnavailable}`);
    const proxy = await recordingProxy(url);
    t.after(proxy.close);
    const avro = avroFormat({ registry: confluentRegistry({ url: proxy.url }), events: [StockReserved] });
    for (const contentType of ['application/cloudevents+json', 'application/json']) {
      const m = {
        topic: 't',
        partition: 0,
        offset: '0',
        key: null,
        value: Buffer.from([0, 0x12, 0x34, 0x56, 0x78, 1]),
        headers: { 'content-type': contentType },
      };
      assert.equal(await avro.decode(m, 'kafka'), m, contentType);
    }
    assert.deepEqual(proxy.seen, [], 'the registry was not asked');
  });

  it('the relay dead-letters an event whose payload does not fit its Avro schema, and publishes the rest', async (t) => {
    if (!url) return t.skip(`no registry: ${registryUnavailable}`);
    const topic = await createTopic(1);
    const Loose = defineEvent({
      type: uniqueName('loose.event'),
      version: 1,
      schema: z.object({ n: z.number() }),
      key: () => 'k',
      avro: { type: 'record', name: 'Loose', fields: [{ name: 'n', type: 'int' }] },
    });
    const outbox = createOutbox({ schema: db.schema });
    await inTransaction(db.pool, (tx) =>
      outbox.add(tx, [
        Loose({ n: 1 }, { destination: topic }),
        Loose({ n: 1.5 }, { destination: topic }),
        Loose({ n: 3 }, { destination: topic }),
      ]),
    );
    const relay = createRelay({
      db: db.pool,
      schema: db.schema,
      transport: withFormat(kafka({ brokers }), avroFormat({ registry: confluentRegistry({ url }), events: [Loose] })),
      logger: silentLogger,
    });
    const { published } = await relay.drain();
    assert.equal(published, 3);
    const dead = await db.pool.query(
      `SELECT error_code, error_message FROM "${db.schema}".dead_letters WHERE type = $1`,
      [Loose.type],
    );
    assert.equal(dead.rows.length, 1);
    assert.equal(dead.rows[0].error_code, 'HERALD_UNENCODABLE_EVENT');
    assert.match(dead.rows[0].error_message, /does not fit its Avro schema v1 at n/);
    const read = await readTopic(topic, 2);
    assert.deepEqual(
      read.map((r) => r.bytes.subarray(5)[0]),
      [2, 6],
      'the zigzag ints 1 and 3',
    );
  });

  it('on another broker (PostgreSQL as the broker) the schema id travels in a header, and a Herald consumer reads it', async (t) => {
    if (!url) return t.skip(`no registry: ${registryUnavailable}`);
    const broker = await freshSchema();
    t.after(() => broker.drop());
    const topic = uniqueName('avro');
    const registry = confluentRegistry({ url });
    const make = () =>
      withFormat(
        postgres({ db: databaseUrl, schema: broker.schema, pollIntervalMs: 50 }),
        avroFormat({ registry, events: [StockReserved] }),
      );
    const outbox = createOutbox({ schema: db.schema });
    const payloads = [
      { reservationId: 'r-a', productId: 'p-a', quantity: 7 },
      { reservationId: 'r-b', productId: 'p-a', quantity: 8 },
    ];
    const written = await inTransaction(db.pool, (tx) =>
      outbox.add(
        tx,
        payloads.map((p) => StockReserved(p, { destination: topic })),
      ),
    );
    const transport = make();
    await createRelay({ db: db.pool, schema: db.schema, transport, logger: silentLogger }).drain();
    const stored = await broker.pool.query(
      `SELECT value, headers FROM "${broker.schema}".broker_messages WHERE topic = $1`,
      [topic],
    );
    assert.equal(stored.rows.length, 2);
    const registered = await registry.lookup(StockReserved.type, 'AVRO', JSON.stringify(StockReserved.avro));
    assert.ok(registered, 'registered by the relay');
    const avroType = avsc.Type.forSchema(StockReserved.avro as avsc.Schema);
    const decoded = [];
    for (const row of stored.rows) {
      assert.equal(row.headers['herald-schema-id'], String(registered.id));
      assert.equal(row.headers['content-type'], 'application/avro');
      assert.equal(row.headers.ce_dataschema, `${url}/subjects/${StockReserved.type}/versions/${registered.version}`);
      // No Confluent header off Kafka: the value is the Avro binary itself.
      decoded.push({ ...avroType.fromBuffer(row.value as Buffer) });
    }
    assert.deepEqual(
      decoded.sort((a, b) => a.reservationId.localeCompare(b.reservationId)),
      payloads,
    );
    const consumerTransport = make();
    const consumer = createConsumer({
      transport: consumerTransport,
      group: uniqueName('g'),
      topics: [topic],
      db: db.pool,
      schema: db.schema,
      deadLetterTopic: false,
      logger: silentLogger,
    });
    const handled: { id: string; quantity: number }[] = [];
    consumer.on(StockReserved, (e) => {
      handled.push({ id: e.id, quantity: e.payload.quantity });
    });
    await consumer.start();
    try {
      await waitFor('both', () => consumer.stats().handled === 2, 30_000);
    } finally {
      await consumer.stop();
      await transport.close();
      await consumerTransport.close();
    }
    assert.deepEqual(
      handled,
      written.map((w, i) => ({ id: w.id, quantity: 7 + i })),
    );
  });
});
