import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { inspect } from 'node:util';
import { z } from 'zod';
import { makeCertificates } from '../../infra/certs.mjs';
import { secureKafka } from '../../infra/kafka-secure.mjs';
import { createOutbox, createRelay, defineEvent, HeraldError } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { freshSchema, inTransaction, type TestSchema } from '../support/env.ts';
import { waitFor } from '../support/relay-process.ts';
import { roundTrip } from './round-trip.ts';
import { assertNoSecret, captureLogger, startPrivate } from './secrets.ts';

const user = { name: 'herald-app', password: 'scram-Pw-7c1f0e' };

/**
 * The error `promise` rejects with. The transports below are made with `timeoutMs` 30 s, so a
 * call left hanging until its deadline (61 s) fails here: a refusal must come from the broker's
 * answer, not from the clock.
 */
async function rejection(promise: Promise<unknown>): Promise<HeraldError> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer in 20 s: the refusal waited for the deadline')), 20_000);
  });
  try {
    await Promise.race([promise, hung]);
  } catch (error) {
    assert.ok(error instanceof HeraldError, `a HeraldError, not ${inspect(error)}`);
    return error;
  } finally {
    clearTimeout(timer);
  }
  assert.fail('expected a rejection');
}

describe('Kafka over TLS and SASL/SCRAM (a private broker with SSL, SASL_SSL and SASL_PLAINTEXT listeners)', () => {
  let broker: Awaited<ReturnType<typeof secureKafka>> | undefined;
  let unavailable: string | undefined;
  let db: TestSchema;
  const otherCa = makeCertificates(fs.mkdtempSync(path.join(os.tmpdir(), 'herald-other-ca-'))).ca;

  before(async () => {
    db = await freshSchema();
    ({ server: broker, unavailable } = await startPrivate(() => secureKafka({ users: [user] })));
  });
  after(async () => {
    await broker?.destroy();
    await db?.drop();
    fs.rmSync(path.dirname(otherCa), { recursive: true, force: true });
  });
  const need = (t: TestContext) => {
    if (!broker) t.skip(`skipped: ${unavailable}`);
    return broker;
  };

  it('publishes and consumes over TLS, the broker verified against the CA given', async (t) => {
    const k = need(t);
    if (!k) return;
    const transport = () => kafka({ brokers: [k.ssl], tls: { caFile: k.certs.ca }, sessionTimeoutMs: 6000 });
    const { published, handled } = await roundTrip({ pool: db.pool, schema: db.schema, transport });
    assert.equal(published, 3);
    assert.deepEqual(handled, [0, 1, 2]);
  });

  it('refuses a broker whose certificate another CA signed, or that the system CAs do not know: HERALD_TLS_FAILED', async (t) => {
    const k = need(t);
    if (!k) return;
    for (const tls of [{ caFile: otherCa }, true] as const) {
      const transport = kafka({ brokers: [k.ssl], tls, timeoutMs: 30_000 });
      const error = await rejection(transport.connect());
      assert.equal(error.code, 'HERALD_TLS_FAILED', error.message);
      assert.match(error.message, /certificate/);
      assert.equal(error.details.tlsCode, 'SELF_SIGNED_CERT_IN_CHAIN');
      await transport.close();
    }
  });

  it('publishes and consumes with SASL/SCRAM, over TLS (SCRAM-SHA-512) and without (SCRAM-SHA-256)', async (t) => {
    const k = need(t);
    if (!k) return;
    const sasl = (mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512') => ({
      mechanism,
      username: user.name,
      password: user.password,
    });
    const overTls = () =>
      kafka({ brokers: [k.saslSsl], tls: { ca: fs.readFileSync(k.certs.ca) }, sasl: sasl('SCRAM-SHA-512') });
    const plain = () => kafka({ brokers: [k.saslPlaintext], sasl: sasl('SCRAM-SHA-256'), sessionTimeoutMs: 6000 });
    for (const transport of [overTls, plain]) {
      const { published, handled } = await roundTrip({ pool: db.pool, schema: db.schema, transport });
      assert.equal(published, 3);
      assert.deepEqual(handled, [0, 1, 2]);
    }
  });

  it('a wrong SASL password: HERALD_AUTHENTICATION_FAILED, the password nowhere in the error, and the relay waits without dead-lettering', async (t) => {
    const k = need(t);
    if (!k) return;
    const wrong = 'wrong-Pw-33aa91';
    const transport = () =>
      kafka({
        brokers: [k.saslSsl],
        tls: { caFile: k.certs.ca },
        sasl: { mechanism: 'SCRAM-SHA-256', username: user.name, password: wrong },
        timeoutMs: 30_000,
      });
    const direct = transport();
    const error = await rejection(direct.connect());
    await direct.close();
    assert.equal(error.code, 'HERALD_AUTHENTICATION_FAILED', error.message);
    assert.match(error.message, /SASL/);
    assertNoSecret(
      [error.message, inspect(error, { depth: 20 }), JSON.stringify(error.details)],
      [wrong, user.password],
    );

    const Def = defineEvent({
      type: 'security.auth.refused',
      version: 1,
      schema: z.object({ n: z.number() }),
      key: (p) => String(p.n),
    });
    await inTransaction(db.pool, (tx) => createOutbox({ schema: db.schema }).add(tx, Def({ n: 1 })));
    const logs = captureLogger();
    const relay = createRelay({
      db: db.pool,
      schema: db.schema,
      transport: transport(),
      logger: logs.logger,
      maxAttempts: 1,
    });
    await relay.start();
    try {
      // Connecting and then publishing both meet the refusal, each without waiting for a deadline.
      await waitFor(
        'the relay to meet the refusal twice',
        () => relay.stats().lastError?.code === 'HERALD_AUTHENTICATION_FAILED' && relay.stats().failures >= 2,
        20_000,
      );
    } finally {
      await relay.stop();
    }
    assert.deepEqual(
      await relay.getFailedEvents(),
      [],
      'a refused login is not the event’s fault: nothing dead-lettered',
    );
    assert.ok(logs.lines.some((l) => l.includes('HERALD_AUTHENTICATION_FAILED')));
    assertNoSecret([...logs.lines, JSON.stringify(relay.stats())], [wrong]);
  });
});

describe('Kafka TLS and SASL options', () => {
  const secret = 'opt-Secret-9f8e';
  it('checks each option and names it, never repeating the password', () => {
    const cases: [unknown, RegExp][] = [
      [{ sasl: { mechanism: 'SCRAM-SHA-1', username: 'u', password: secret } }, /sasl\.mechanism/],
      [{ sasl: { mechanism: 'PLAIN', password: secret } }, /sasl\.username is required/],
      [{ sasl: { mechanism: 'PLAIN', username: 'u' } }, /sasl\.password is required/],
      [{ sasl: { mechanism: 'PLAIN', username: 'u', password: secret.repeat(200) } }, /sasl\.password: must be/],
      [{ sasl: 'u:p' }, /sasl: "u:p" must be an object/],
      [{ tls: { caFile: '/nonexistent/ca.pem' } }, /tls\.caFile: "\/nonexistent\/ca\.pem" cannot be read \(ENOENT\)/],
      [{ tls: { ca: 42 } }, /tls\.ca\[0\]/],
      [{ tls: { cert: 'PEM' } }, /tls\.cert and tls\.key is required/],
      [{ tls: { key: secret } }, /tls\.cert and tls\.key is required/],
      [{ tls: { rejectUnauthorised: false } }, /tls\.rejectUnauthorised: is not an option/],
      [{ tls: 'yes' }, /tls: "yes" must be an object/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => kafka({ brokers: ['127.0.0.1:9092'], ...(options as object) }),
        (e: HeraldError) => {
          assert.equal(e.code, 'HERALD_INVALID_CONFIG');
          assert.match(e.message, message);
          assertNoSecret([e.message, JSON.stringify(e.details)], [secret]);
          return true;
        },
      );
    }
  });

  it('reads KAFKA_TLS, KAFKA_CA_FILE and KAFKA_SASL_* when the options are left out', () => {
    const saved = { ...process.env };
    try {
      process.env.KAFKA_SASL_MECHANISM = 'SCRAM-SHA-256';
      process.env.KAFKA_SASL_USERNAME = 'u';
      delete process.env.KAFKA_SASL_PASSWORD;
      assert.throws(() => kafka({ brokers: ['127.0.0.1:9092'] }), /KAFKA_SASL_PASSWORD is required/);
      process.env.KAFKA_SASL_MECHANISM = 'GSSAPI';
      assert.throws(() => kafka({ brokers: ['127.0.0.1:9092'] }), /KAFKA_SASL_MECHANISM: "GSSAPI" must be one of/);
      delete process.env.KAFKA_SASL_MECHANISM;
      process.env.KAFKA_CA_FILE = '/nonexistent/ca.pem';
      assert.throws(
        () => kafka({ brokers: ['127.0.0.1:9092'] }),
        /KAFKA_CA_FILE: "\/nonexistent\/ca.pem" cannot be read/,
      );
      process.env.KAFKA_TLS = 'yes';
      delete process.env.KAFKA_CA_FILE;
      assert.throws(() => kafka({ brokers: ['127.0.0.1:9092'] }), /KAFKA_TLS: "yes" must be true or false/);
    } finally {
      for (const key of [
        'KAFKA_SASL_MECHANISM',
        'KAFKA_SASL_USERNAME',
        'KAFKA_SASL_PASSWORD',
        'KAFKA_CA_FILE',
        'KAFKA_TLS',
      ]) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });
});
