// Bad input, generated: 10,000 messages published straight to Kafka (no relay), valid events mixed
// with random bytes, truncated Avro, wrong magic bytes, unknown schema ids, headers that are not
// UTF-8, huge bodies, wrong versions and CloudEvents structured-mode garbage, read by one Herald
// consumer on PostgreSQL. No crash; each valid event handled once; each bad message dead-lettered
// with a typed reason; a schema registry that keeps going away retried, never dead-lettered.
// The run is reproducible: it prints its seed, and HERALD_FUZZ_SEED=<seed> repeats it.
// The Avro and registry part needs the registry (Java 21+); without one the rest still runs.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Producer } from '@platformatic/kafka';
import { createConsumer, silentLogger, type Transport } from '../../src/index.ts';
import { avroFormat } from '../../src/schemas/avro.ts';
import { confluentRegistry } from '../../src/schemas/confluent.ts';
import { withFormat } from '../../src/transports/formatted.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, freshSchema, type TestSchema, uniqueName } from '../support/env.ts';
import { generateMessages, Item } from '../support/fuzz-messages.ts';
import { createTopic } from '../support/kafka.ts';
import { recordingProxy, registryUnavailable, registryUrl } from '../support/registry.ts';
import { waitFor } from '../support/relay-process.ts';

const total = 10_000;
const seed = (process.env.HERALD_FUZZ_SEED ? Number(process.env.HERALD_FUZZ_SEED) : randomInt(2 ** 31)) >>> 0;

describe('fuzzing the consumer’s decoding on Kafka', () => {
  let db: TestSchema;
  let url: string | null = null;
  before(async () => {
    console.log(`# decode fuzz seed ${seed} (repeat with HERALD_FUZZ_SEED=${seed})`);
    url = await registryUrl();
    db = await freshSchema();
  });
  after(() => db.drop());

  it('Avro and a registry outage are part of the fuzz when a registry can run here', (t) => {
    if (!url) t.skip(`no registry: ${registryUnavailable}; the fuzz runs without its Avro cases`);
  });

  it(`${total} generated messages: each valid event handled once, each bad one dead-lettered with a typed reason, the registry's outages retried`, async () => {
    const topic = await createTopic(4, 'herald-fuzz');
    const group = uniqueName('g');
    const registry = url ? confluentRegistry({ url }) : null;
    const codec = registry ? avroFormat({ registry, events: [Item] }) : null;
    const generated = await generateMessages({ seed, total, topic, codec });
    const producer = new Producer({ clientId: 'herald-fuzz', bootstrapBrokers: brokers });
    try {
      const records = generated.map((g, n) => ({
        topic,
        key: g.key ?? undefined,
        value: g.value ?? undefined,
        headers: new Map<Buffer, Buffer>([
          [Buffer.from('fuzz-n'), Buffer.from(String(n))],
          ...g.headers.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]),
        ]),
      }));
      for (let i = 0; i < records.length; ) {
        // Batches under Kafka's 1 MB request limit.
        let bytes = 0;
        const batch = [];
        while (i < records.length && (batch.length === 0 || bytes + (records[i]?.value?.length ?? 0) < 900_000)) {
          bytes += (records[i]?.value?.length ?? 0) + 200;
          batch.push(records[i++]);
        }
        await producer.send({ messages: batch as never });
      }
    } finally {
      await producer.close();
    }

    // The consumer reads the registry through a proxy that answers 503 at first and then, for a
    // while at a time, again: outages must be retried, never dead-lettered.
    const proxy = url ? await recordingProxy(url) : null;
    let flapping: NodeJS.Timeout | undefined;
    if (proxy) {
      proxy.state.down = true;
      let tick = 0;
      flapping = setInterval(() => {
        tick++;
        // Down for the first 1.5 s, then 250 ms of every second.
        (proxy as NonNullable<typeof proxy>).state.down = tick < 6 || tick % 4 === 0;
      }, 250);
    }
    const transport: Transport = proxy
      ? withFormat(
          kafka({ brokers }),
          avroFormat({ registry: confluentRegistry({ url: proxy.url, timeoutMs: 2000 }), events: [Item] }),
        )
      : kafka({ brokers });
    const consumer = createConsumer({
      transport,
      group,
      topics: [topic],
      db: db.pool,
      schema: db.schema,
      concurrency: 8,
      onUnknownType: 'dead-letter',
      retry: { attempts: 2, initialMs: 5, maxMs: 50 },
      logger: silentLogger,
    });
    const handled = new Map<string, number>();
    consumer.on(Item, (event) => {
      handled.set(event.id, (handled.get(event.id) ?? 0) + 1);
    });
    const validIds = new Set(generated.filter((g) => g.expect === 'valid').map((g) => g.id as string));
    const badCount = generated.filter((g) => Array.isArray(g.expect)).length;
    const started = Date.now();
    await consumer.start();
    try {
      await waitFor(
        `${validIds.size + badCount} handled or dead-lettered (seed ${seed})`,
        () => consumer.stats().handled + consumer.stats().deadLettered >= validIds.size + badCount,
        90_000,
      );
      // Anything more would be a second handling or a second dead letter: a moment to show up.
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      clearInterval(flapping);
      await consumer.stop();
      await transport.close();
      await proxy?.close();
    }
    const stats = consumer.stats();
    console.log(
      `# ${total} messages (${validIds.size} valid events, ${generated.length - validIds.size - badCount} repeats, ${badCount} bad) in ${Date.now() - started} ms; registry refused ${proxy?.refused() ?? 0} requests`,
    );
    const context = `seed ${seed} (HERALD_FUZZ_SEED=${seed})`;

    // Each valid event handled once, nothing else handled.
    const twice = [...handled].filter(([, n]) => n !== 1);
    assert.deepEqual(twice, [], `handled more than once: ${context}`);
    const missing = [...validIds].filter((id) => !handled.has(id));
    assert.deepEqual(
      missing.map((id) => generated.find((g) => g.id === id)?.kind),
      [],
      `valid events not handled: ${context}`,
    );
    assert.equal(handled.size, validIds.size, `only valid events handled: ${context}`);
    assert.equal(stats.handled, validIds.size, context);

    // Each bad message dead-lettered once, with a reason whose code its kind allows.
    const dead = await db.pool.query<{ n: string; code: string; message: string }>(
      `SELECT headers->>'fuzz-n' AS n, error_code AS code, error_message AS message
         FROM "${db.schema}".consumer_dead_letters WHERE consumer_group = $1`,
      [group],
    );
    const byN = new Map(dead.rows.map((row) => [Number(row.n), row]));
    assert.equal(byN.size, dead.rows.length, `one dead letter per message: ${context}`);
    const wrong: string[] = [];
    generated.forEach((g, n) => {
      const letter = byN.get(n);
      if (!Array.isArray(g.expect)) {
        if (letter) wrong.push(`#${n} ${g.kind}: valid, yet dead-lettered with ${letter.code}: ${letter.message}`);
        return;
      }
      if (!letter) wrong.push(`#${n} ${g.kind}: not dead-lettered`);
      else if (!g.expect.includes(letter.code) || letter.message.length === 0)
        wrong.push(
          `#${n} ${g.kind}: ${letter.code} (${letter.message.slice(0, 200)}), expected ${g.expect.join(' or ')}`,
        );
    });
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} wrong: ${context}`);
    assert.equal(dead.rows.length, badCount, context);
    assert.ok(
      dead.rows.every((row) => row.code !== 'HERALD_REGISTRY_UNAVAILABLE'),
      `a registry outage is never a dead letter: ${context}`,
    );
    if (proxy) assert.ok(proxy.refused() > 0, 'the registry was away while the consumer read');
    assert.equal(stats.circuit, 'closed', context);
  });
});
