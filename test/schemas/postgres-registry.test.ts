import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isHeraldError } from '../../src/errors.ts';
import { createPostgresRegistry } from '../../src/schemas/postgres-registry.ts';
import type { CompatibilityMode, SchemaRegistry } from '../../src/schemas/registry.ts';
import { databaseUrl, freshSchema, type TestSchema, uniqueName } from '../support/env.ts';

/** Herald's registry in PostgreSQL (migration 0011), through the SchemaRegistry port. */
describe('the PostgreSQL schema registry', () => {
  let db: TestSchema;
  let registry: SchemaRegistry;
  before(async () => {
    db = await freshSchema();
    registry = createPostgresRegistry({ db: db.pool, schema: db.schema });
  });
  after(async () => {
    await registry.close?.();
    await db.drop();
  });

  const order = (fields: string[]) => ({
    type: 'record',
    name: 'OrderPlaced',
    fields: fields.map((name) => ({ name, type: 'string' })),
  });

  it('numbers versions from 1 per subject; the same schema, however spaced, is the same version', async () => {
    const subject = uniqueName('order.placed');
    const v1 = await registry.register(subject, 'AVRO', JSON.stringify(order(['id'])));
    const v2 = await registry.register(subject, 'AVRO', JSON.stringify(order(['id', 'sku'])));
    assert.deepEqual([v1.version, v2.version], [1, 2]);
    assert.ok(v2.id > v1.id);
    // Keys in another order and other spacing: the canonical text, so the same row.
    const respaced = `{ "fields": ${JSON.stringify(order(['id']).fields, null, 2)}, "name": "OrderPlaced", "type": "record" }`;
    const again = await registry.register(subject, 'AVRO', respaced);
    assert.deepEqual(again, v1);
    assert.deepEqual(await registry.lookup(subject, 'AVRO', respaced), v1);
    assert.equal(await registry.lookup(subject, 'AVRO', JSON.stringify(order(['other']))), undefined);
    assert.deepEqual(
      (await registry.versions(subject)).map((r) => r.version),
      [1, 2],
    );
    assert.deepEqual(await registry.byId(v2.id), v2);
    assert.deepEqual(JSON.parse(v2.schema), order(['id', 'sku']));
    assert.ok((await registry.subjects()).includes(subject));
    assert.deepEqual(await registry.versions(uniqueName('no.such')), []);
  });

  it('concurrent registrations of one subject get versions without gaps or duplicates', async () => {
    const subject = uniqueName('stock.moved');
    const schemas = Array.from({ length: 8 }, (_, i) => JSON.stringify(order([`f${i}`])));
    const saved = await Promise.all([...schemas, ...schemas].map((s) => registry.register(subject, 'AVRO', s)));
    const versions = await registry.versions(subject);
    assert.deepEqual(
      versions.map((v) => v.version),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    // Each schema registered twice at once came back as one version.
    for (let i = 0; i < schemas.length; i++) assert.deepEqual(saved[i], saved[i + schemas.length]);
  });

  it('keeps the compatibility mode per subject and refuses one that is not a mode', async () => {
    const subject = uniqueName('order.paid');
    assert.equal(await registry.getCompatibility(subject), undefined);
    await registry.setCompatibility(subject, 'FULL_TRANSITIVE');
    await registry.setCompatibility(subject, 'FORWARD');
    assert.equal(await registry.getCompatibility(subject), 'FORWARD');
    // A subject with a mode and no schema yet is listed.
    assert.ok((await registry.subjects()).includes(subject));
    await assert.rejects(
      registry.setCompatibility(subject, 'SIDEWAYS' as CompatibilityMode),
      (e) =>
        isHeraldError(e, 'HERALD_INVALID_CONFIG') && /compatibility: "SIDEWAYS" must be one of NONE/.test(e.message),
    );
  });

  it('an unknown id is HERALD_UNKNOWN_SCHEMA; a database that is down is HERALD_DATABASE_UNAVAILABLE', async () => {
    await assert.rejects(registry.byId(987_654_321), (e) => isHeraldError(e, 'HERALD_UNKNOWN_SCHEMA'));
    const down = createPostgresRegistry({
      db: databaseUrl.replace(/:(\d+)\//, ':1/'),
      schema: db.schema,
    });
    try {
      await assert.rejects(down.subjects(), (e) => isHeraldError(e, 'HERALD_DATABASE_UNAVAILABLE'));
    } finally {
      await down.close?.();
    }
  });
});
