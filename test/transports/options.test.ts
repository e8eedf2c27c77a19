/**
 * The Kafka and PostgreSQL transports' options, checked once at creation with the shared options
 * module: every bad option is HERALD_INVALID_CONFIG naming it (`<setting>: <value> <rule>`), and
 * what is left out comes from the environment the CLI reads.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { HeraldError } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { kafkaSettings } from '../../src/transports/kafka/options.ts';
import { postgres } from '../../src/transports/postgres/index.ts';
import { postgresSettings } from '../../src/transports/postgres/options.ts';
import { thrown } from '../support/errors.ts';

function rejects(fn: () => unknown, setting: string): HeraldError {
  const error = thrown(fn);
  assert.equal(error.code, 'HERALD_INVALID_CONFIG', error.message);
  assert.equal(error.details.setting, setting, error.message);
  assert.ok(error.message.startsWith(`${setting}`), error.message);
  return error;
}

/** Runs `fn` with environment variables set (undefined: unset), then puts them back. */
function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const put = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  put(vars);
  try {
    return fn();
  } finally {
    put(saved);
  }
}

describe('kafka options', () => {
  const brokers = '127.0.0.1:9092';

  it('names each bad option', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ brokers: 'localhost' }, 'brokers'],
      [{ brokers: [] }, 'brokers'],
      [{ brokers: ['a:1', 'not a host:2'] }, 'brokers'],
      [{ brokers: 42 }, 'brokers'],
      [{ brokers, clientId: '' }, 'clientId'],
      [{ brokers, clientId: 7 }, 'clientId'],
      [{ brokers, clientId: 'x'.repeat(256) }, 'clientId'],
      [{ brokers, timeoutMs: 0 }, 'timeoutMs'],
      [{ brokers, timeoutMs: 1.5 }, 'timeoutMs'],
      [{ brokers, timeoutMs: '1000' }, 'timeoutMs'],
      [{ brokers, compression: 'brotli' }, 'compression'],
      [{ brokers, maxRequestBytes: 0 }, 'maxRequestBytes'],
      [{ brokers, maxRequestBytes: 1e9 }, 'maxRequestBytes'],
      [{ brokers, sessionTimeoutMs: 10 }, 'sessionTimeoutMs'],
      [{ brokers, fetchMaxBytes: 100 }, 'fetchMaxBytes'],
      [{ brokers, autocreateTopics: 'yes' }, 'autocreateTopics'],
    ];
    for (const [options, setting] of cases) {
      const error = rejects(() => kafka(options as never), setting);
      assert.ok(error.message.startsWith(`${setting}: `), error.message);
    }
    rejects(() => kafka(null as never), 'options');
    assert.match(
      thrown(() => kafka({ brokers, compression: 'brotli' as 'gzip' })).message,
      /^compression: "brotli" must be "none" or "gzip" or "snappy" or "lz4" or "zstd"$/,
    );
  });

  it('fills in the defaults', () => {
    const s = kafkaSettings({ brokers: `${brokers}, 127.0.0.2:9093` });
    assert.deepEqual(s.brokers, ['127.0.0.1:9092', '127.0.0.2:9093']);
    assert.equal(s.timeoutMs, 10_000);
    assert.equal(s.compression, 'none');
    assert.equal(s.maxRequestBytes, 900_000);
    assert.equal(s.sessionTimeoutMs, 10_000);
    assert.equal(s.fetchMaxBytes, 1_048_576);
    assert.equal(s.autocreateTopics, true);
    assert.equal(kafka({ brokers: [brokers] }).describe(), brokers);
  });

  it('reads KAFKA_BROKERS and HERALD_CLIENT_ID when brokers and clientId are left out, as the CLI does', () => {
    withEnv({ KAFKA_BROKERS: 'k1:9092,k2:9092', HERALD_CLIENT_ID: 'billing-relay' }, () => {
      assert.equal(kafka().describe(), 'k1:9092,k2:9092');
      assert.equal(kafkaSettings({}).clientId, 'billing-relay');
      assert.equal(kafkaSettings({ clientId: 'mine' }).clientId, 'mine', 'the option wins');
      assert.equal(kafka({ brokers }).describe(), brokers, 'the option wins');
    });
    withEnv({ KAFKA_BROKERS: 'k1:9092', HERALD_CLIENT_ID: undefined }, () => {
      assert.equal(kafkaSettings({}).clientId, undefined, 'each role has its default');
    });
    withEnv({ KAFKA_BROKERS: undefined }, () => {
      const missing = thrown(() => kafka());
      assert.equal(missing.code, 'HERALD_INVALID_CONFIG');
      assert.equal(missing.details.setting, 'brokers');
      assert.match(missing.message, /^brokers is required: .*KAFKA_BROKERS/);
    });
    withEnv({ KAFKA_BROKERS: 'nohost' }, () => {
      assert.match(
        rejects(() => kafka(), 'KAFKA_BROKERS').message,
        /KAFKA_BROKERS: "nohost" is not a list of host:port/,
      );
    });
  });
});

describe('postgres transport options', () => {
  const db = 'postgres://herald:hunter2@127.0.0.1:5432/test';
  const opened: ReturnType<typeof postgres>[] = [];
  after(async () => {
    for (const t of opened) await t.close();
  });

  it('names each bad option, never showing the password of the connection string', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ partitions: 0 }, 'partitions'],
      [{ partitions: 1025 }, 'partitions'],
      [{ partitions: 1.5 }, 'partitions'],
      [{ maxMessageBytes: 0 }, 'maxMessageBytes'],
      [{ maxMessageBytes: 'big' }, 'maxMessageBytes'],
      [{ maxMessageBytes: 2 ** 31 }, 'maxMessageBytes'],
      [{ pollIntervalMs: 0 }, 'pollIntervalMs'],
      [{ pollIntervalMs: '100' }, 'pollIntervalMs'],
      [{ leaseMs: 10 }, 'leaseMs'],
      [{ leaseMs: 1e9 }, 'leaseMs'],
      [{ retentionDays: -1 }, 'retentionDays'],
      [{ retentionDays: 0.5 }, 'retentionDays'],
      [{ db: 42 }, 'db'],
    ];
    for (const [options, setting] of cases) {
      const error = rejects(() => postgres({ db, ...options } as never), setting);
      assert.ok(error.message.startsWith(`${setting}: `), error.message);
      assert.doesNotMatch(JSON.stringify([error.message, error.details]), /hunter2/);
    }
    rejects(() => postgres(null as never), 'options');
    const t = postgres({ db });
    opened.push(t);
    assert.doesNotMatch(t.describe(), /hunter2/);
  });

  it('checks a maxMessageBytes function when it is asked, naming the topic', () => {
    const s = postgresSettings({ db, maxMessageBytes: (topic) => (topic === 'big' ? 10_000_000 : Number.NaN) });
    assert.equal(s.maxMessageBytes('big'), 10_000_000);
    rejects(() => s.maxMessageBytes('small'), 'maxMessageBytes("small")');
  });

  it('refuses a schema name that is not a safe SQL identifier, as every entry point does', () => {
    for (const schema of ['Herald', 'x"; DROP TABLE y; --', 42]) {
      const error = thrown(() => postgres({ db, schema: schema as string }));
      assert.equal(error.code, 'HERALD_INVALID_IDENTIFIER');
      assert.match(error.message, /^schema name /);
    }
  });

  it('fills in the defaults, and reads DATABASE_URL and HERALD_SCHEMA when db and schema are left out', () => {
    const s = postgresSettings({ db });
    assert.equal(s.partitions, 8);
    assert.equal(s.maxMessageBytes('any'), 1_048_576);
    assert.equal(s.pollIntervalMs, 100);
    assert.equal(s.leaseMs, 10_000);
    assert.equal(s.retentionDays, 7);
    withEnv({ DATABASE_URL: db, HERALD_SCHEMA: 'broker_x' }, () => {
      const fromEnv = postgresSettings({});
      assert.equal(fromEnv.db, db);
      assert.equal(fromEnv.schema, 'broker_x');
    });
    withEnv({ DATABASE_URL: undefined }, () => {
      const missing = thrown(() => postgres());
      assert.equal(missing.code, 'HERALD_INVALID_CONFIG');
      assert.equal(missing.details.setting, 'db');
    });
  });
});
