import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { z } from 'zod';
import { createConsumer, defineEvent, isHeraldError, type Transport } from '../../src/index.ts';
import { memoryTransport } from '../../src/testing/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, databaseUrl, uniqueName } from '../support/env.ts';

const Def = defineEvent({ type: 'a.b', version: 1, schema: z.object({ n: z.number() }), key: () => 'k' });

describe('consumer options: a clear error naming the setting', () => {
  const base = { transport: kafka({ brokers }), group: 'g', db: databaseUrl };
  const cases: [string, Record<string, unknown>][] = [
    ['group', { group: 'has space' }],
    ['group', { group: '' }],
    ['concurrency', { concurrency: 0 }],
    ['maxInFlight', { maxInFlight: 1.5 }],
    ['retry.attempts', { retry: { attempts: 0 } }],
    ['onUnknownType', { onUnknownType: 'ignore' }],
    ['from', { from: 'beginning' }],
    ['inboxRetentionDays', { inboxRetentionDays: -1 }],
    ['deadLetterTopic', { deadLetterTopic: 'dlq' }],
    ['db', { db: 42 }],
    ['db', { db: { connect: 'no' } }],
    ['groupCommit', { groupCommit: 'yes' }],
    ['groupCommit.maxEvents', { groupCommit: { maxEvents: 0 } }],
    ['groupCommit.maxWaitMs', { groupCommit: { maxWaitMs: -1 } }],
    ['groupCommit.pipeline', { groupCommit: { pipeline: 'yes' } }],
  ];
  for (const [setting, bad] of cases) {
    it(`rejects a bad ${setting}: ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => createConsumer({ ...base, ...bad } as never),
        (e: unknown) => isHeraldError(e, 'HERALD_INVALID_CONFIG') && e.details.setting === setting,
      );
    });
  }

  it('rejects a transport that cannot consume', () => {
    const { subscribe: _, ...publishOnly } = memoryTransport();
    assert.throws(
      () => createConsumer({ ...base, transport: publishOnly as unknown as Transport }),
      (e: unknown) => isHeraldError(e, 'HERALD_INVALID_CONFIG') && /cannot consume|consume/.test(e.message),
    );
  });

  it('rejects two handlers for one type, and starting with none', async () => {
    const consumer = createConsumer(base);
    await assert.rejects(consumer.start(), /no handlers/);
    consumer.on(Def, () => {});
    assert.throws(() => consumer.on(Def, () => {}), /already has a handler/);
  });

  it('says to run herald migrate when the schema is missing', async () => {
    const pool = new pg.Pool({ connectionString: databaseUrl });
    try {
      const consumer = createConsumer({ ...base, db: pool, schema: uniqueName('missing') });
      consumer.on(Def, () => {});
      await assert.rejects(consumer.start(), (e: unknown) => isHeraldError(e, 'HERALD_NOT_MIGRATED'));
    } finally {
      await pool.end();
    }
  });

  it('checks upcasters when an event is defined', () => {
    const schema = z.object({ n: z.number() });
    assert.throws(
      () => defineEvent({ type: 'a.c', version: 2, schema, key: () => 'k', upcasters: { 2: (p) => p } }),
      (e: unknown) => isHeraldError(e, 'HERALD_INVALID_DEFINITION') && /upcasters\[2\]/.test(e.message),
    );
    assert.throws(
      () => defineEvent({ type: 'a.c', version: 2, schema, key: () => 'k', upcasters: { 1: 'x' as never } }),
      (e: unknown) => isHeraldError(e, 'HERALD_INVALID_DEFINITION'),
    );
  });
});
