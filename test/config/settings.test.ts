import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveSettings } from '../../src/config/settings.ts';
import { HeraldError } from '../../src/index.ts';

const keys = ['databaseUrl', 'brokers', 'batchSize', 'schema'] as const;

function failure(flags: Record<string, string>, env: Record<string, string>): HeraldError {
  try {
    resolveSettings(keys, flags, env);
  } catch (error) {
    assert.ok(error instanceof HeraldError);
    return error;
  }
  assert.fail('expected a HeraldError');
}

describe('relay settings', () => {
  const env = { DATABASE_URL: 'postgres://u:secret@db:5432/app', KAFKA_BROKERS: 'a:9092, b:9093' };

  it('reads the environment, applies defaults, and lets flags win', () => {
    const s = resolveSettings(keys, { 'batch-size': '250' }, { ...env, HERALD_BATCH_SIZE: '10' });
    assert.deepEqual(s.brokers, ['a:9092', 'b:9093']);
    assert.equal(s.batchSize, 250);
    assert.equal(s.schema, 'herald');
  });

  it('names the bad setting, its flag and its variable', () => {
    const missing = failure({}, { KAFKA_BROKERS: 'a:1' });
    assert.equal(missing.code, 'HERALD_INVALID_CONFIG');
    assert.match(missing.message, /--database-url \/ DATABASE_URL is required/);
    assert.match(failure({ brokers: 'nohost' }, env).message, /--brokers \/ KAFKA_BROKERS: "nohost"/);
    assert.match(failure({}, { ...env, HERALD_BATCH_SIZE: '0' }).message, /HERALD_BATCH_SIZE: "0" must be an integer/);
    assert.match(failure({ schema: 'Robert"; drop' }, env).message, /--schema/);
  });

  it('never echoes a connection string it cannot parse (it may hold a password)', () => {
    const error = failure({ 'database-url': 'mysql://u:hunter2@x/y' }, env);
    assert.doesNotMatch(error.message, /hunter2/);
    const unparsable = failure({ 'database-url': 'hunter2 is not a url' }, env);
    assert.doesNotMatch(unparsable.message, /hunter2/);
  });
});
