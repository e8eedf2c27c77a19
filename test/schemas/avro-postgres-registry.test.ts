import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  avroFormat,
  createConsumer,
  createConsumerDeadLetters,
  createOutbox,
  createPostgresRegistry,
  createRelay,
  pushDefinitions,
  silentLogger,
  withFormat,
} from 'herald';
import { postgres } from 'herald/postgres';
import { EntityCreated, EntityDeleted, EntityUpdated } from '../../examples/schemas/entity-events.ts';
import { databaseUrl, freshSchema, inTransaction, type TestSchema, uniqueName } from '../support/env.ts';
import { waitFor } from '../support/relay-process.ts';

/**
 * Herald's own registry serves Avro on the wire too: seed 003's entity events, pushed as a deploy
 * does, published as Avro with the schema id the PostgreSQL registry gave, and read back by a
 * Herald consumer that decodes by that id. (Imported by the package's name, as the example is.)
 */
describe('Avro on the wire with the PostgreSQL registry', () => {
  let db: TestSchema;
  before(async () => {
    db = await freshSchema();
  });
  after(async () => {
    await db.drop();
  });

  it("seed 003's entity events travel as Avro under the ids `herald schema push` registered", async () => {
    const registry = createPostgresRegistry({ db: db.pool, schema: db.schema });
    const events = [EntityCreated, EntityUpdated, EntityDeleted];
    const reports = await pushDefinitions(registry, events, 'BACKWARD');
    const ids = new Map(reports.map((r) => [r.subject, r.versions[0]?.id]));
    const topic = uniqueName('entities');
    const make = () =>
      withFormat(
        postgres({ db: databaseUrl, schema: db.schema, pollIntervalMs: 50 }),
        avroFormat({ registry, events, autoRegister: false }),
      );
    const entity = {
      source_entity_id: 's-1',
      entity_id: 'e-1',
      entity_type: 'product',
      domain: 'catalog',
      schema_version: '1',
    };
    const payloads = [
      { ...entity, data: '{"name":"lamp"}' },
      { ...entity, data: '{"name":"desk lamp"}', changed_fields: ['name'] },
      entity,
    ] as const;
    const written = await inTransaction(db.pool, (tx) =>
      createOutbox({ schema: db.schema }).add(tx, [
        EntityCreated(payloads[0], { destination: topic }),
        EntityUpdated({ ...payloads[1], changed_fields: [...payloads[1].changed_fields] }, { destination: topic }),
        EntityDeleted(payloads[2], { destination: topic }),
      ]),
    );
    const transport = make();
    const consumerTransport = make();
    try {
      await createRelay({ db: db.pool, schema: db.schema, transport, logger: silentLogger }).drain();
      const stored = await db.pool.query<{ value: Buffer; headers: Record<string, string> }>(
        `SELECT value, headers FROM "${db.schema}".broker_messages WHERE topic = $1 ORDER BY seq`,
        [topic],
      );
      assert.deepEqual(
        stored.rows.map((r) => [r.headers.ce_type, r.headers['herald-schema-id'], r.headers['content-type']]),
        written.map((w) => [w.type, String(ids.get(w.type)), 'application/avro']),
      );
      // Avro binary, not JSON: the body does not even start with '{'.
      assert.ok(stored.rows.every((r) => r.value[0] !== 0x7b));

      const group = uniqueName('indexer');
      const consumer = createConsumer({
        transport: consumerTransport,
        group,
        topics: [topic],
        db: db.pool,
        schema: db.schema,
        deadLetterTopic: false,
        logger: silentLogger,
      });
      const seen: [string, unknown][] = [];
      consumer.on(EntityCreated, (e) => void seen.push([e.type, e.payload]));
      consumer.on(EntityUpdated, (e) => void seen.push([e.type, e.payload]));
      consumer.on(EntityDeleted, (e) => void seen.push([e.type, e.payload]));
      await consumer.start();
      try {
        await waitFor('the three entity events', () => consumer.stats().handled === 3, 30_000);
      } finally {
        await consumer.stop();
      }
      assert.deepEqual(
        seen,
        written.map((w, i) => [w.type, payloads[i]]),
      );
      const letters = createConsumerDeadLetters({ db: db.pool, schema: db.schema });
      try {
        assert.deepEqual(await letters.list({ groups: [group] }), []);
      } finally {
        await letters.close();
      }
    } finally {
      await transport.close();
      await consumerTransport.close();
      await registry.close?.();
    }
  });
});
