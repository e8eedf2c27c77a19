import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type HeraldError, isHeraldError } from '../../../src/errors.ts';
import { toHeraldError } from '../../../src/transports/rabbitmq/errors.ts';
import { type RabbitMQOptions, rabbitmq } from '../../../src/transports/rabbitmq/index.ts';
import { parseUrl, resolveOptions } from '../../../src/transports/rabbitmq/options.ts';
import { murmur2, partitionOf, queueName, topologyOf } from '../../../src/transports/rabbitmq/topology.ts';
import { fromAmqp, toAmqp } from '../../../src/transports/rabbitmq/wire.ts';
import { eventMessage } from '../../support/consumer.ts';
import { thrown } from '../../support/errors.ts';

const secret = 's3cr%65t-pa55';

function rejects(fn: () => unknown, code: string, setting?: string): HeraldError {
  const error = thrown(fn);
  assert.equal(error.code, code, error.message);
  if (setting !== undefined) assert.equal(error.details.setting, setting);
  return error;
}

describe('rabbitmq options', () => {
  it('parses an AMQP URI: defaults, port, vhost (percent-encoded), amqps, IPv6', () => {
    assert.deepEqual(parseUrl('amqp://localhost'), {
      protocol: 'amqp',
      hostname: 'localhost',
      port: 5672,
      username: 'guest',
      password: 'guest',
      vhost: '/',
    });
    assert.deepEqual(parseUrl('amqps://app:p%40ss@mq.example.com:5999/orders'), {
      protocol: 'amqps',
      hostname: 'mq.example.com',
      port: 5999,
      username: 'app',
      password: 'p@ss',
      vhost: 'orders',
    });
    assert.equal(parseUrl('amqps://h').port, 5671);
    assert.equal(parseUrl('amqp://h/%2F').vhost, '/');
    assert.equal(parseUrl('amqp://h/').vhost, '/');
    assert.equal(parseUrl('amqp://[::1]:5673').hostname, '::1');
  });

  it('refuses a URL that is not amqp(s) without repeating it (it may hold a password)', () => {
    for (const url of [
      `http://user:${secret}@host`,
      `amqp://user:${secret}@`,
      `amqp://user:${secret}@host/a/b`,
      `amqp://user:${secret}@host/?heartbeat=5`,
      `user:${secret}@host:5672`,
      '',
      42,
      undefined,
    ]) {
      const error = rejects(() => rabbitmq({ url } as RabbitMQOptions), 'HERALD_INVALID_CONFIG', 'url');
      assert.ok(!error.message.includes(secret) && !error.message.includes('s3cret'), error.message);
      assert.ok(!JSON.stringify(isHeraldError(error) ? error.details : {}).includes(secret));
    }
  });

  it('describe() shows where the broker is, never the user or password', () => {
    const t = rabbitmq({ url: `amqp://herald:${secret}@mq.internal:5673/prod%2Fa` });
    assert.equal(t.name, 'rabbitmq');
    assert.equal(t.describe(), 'amqp://mq.internal:5673/prod%2Fa');
    assert.equal(rabbitmq({ url: 'amqp://u:p@[::1]' }).describe(), 'amqp://[::1]:5672/');
    assert.ok(!/s3cr|herald/.test(t.describe()));
  });

  it('names each invalid option', () => {
    const url = 'amqp://localhost';
    const bad: [Partial<RabbitMQOptions> & Record<string, unknown>, string][] = [
      [{ partitions: 0 }, 'partitions'],
      [{ partitions: 1.5 }, 'partitions'],
      [{ partitions: 1001 }, 'partitions'],
      [{ groups: 'billing' as unknown as string[] }, 'groups'],
      [{ groups: ['ok', 'not ok'] }, 'groups'],
      [{ exchangeFor: 'orders' as unknown as () => string }, 'exchangeFor'],
      [{ queueType: 'stream' as 'quorum' }, 'queueType'],
      [{ timeoutMs: 0 }, 'timeoutMs'],
      [{ timeoutMs: '1000' as unknown as number }, 'timeoutMs'],
      [{ prefetch: 0 }, 'prefetch'],
      [{ prefetch: 70_000 }, 'prefetch'],
      [{ maxMessageBytes: 0 }, 'maxMessageBytes'],
      [{ maxMessageBytes: 600_000_000 }, 'maxMessageBytes'],
      [{ heartbeatSeconds: -1 }, 'heartbeatSeconds'],
      [{ connectionName: 7 as unknown as string }, 'connectionName'],
    ];
    for (const [options, setting] of bad) {
      const error = rejects(() => rabbitmq({ url, ...options }), 'HERALD_INVALID_CONFIG', setting);
      assert.ok(error.message.startsWith(`${setting}: `), error.message);
    }
    const s = resolveOptions({ url });
    assert.equal(s.partitionsFor('any'), 4);
    assert.equal(s.queueType, 'quorum');
    assert.equal(s.prefetch, 250);
    assert.equal(s.maxMessageBytes, 134_217_728);
    assert.equal(s.timeoutMs, 10_000);
  });

  it('checks partitions given as a function, and destination names RabbitMQ cannot take, when used', () => {
    const s = resolveOptions({
      url: 'amqp://localhost',
      partitions: (d) => (d === 'hot' ? 16 : Number.NaN),
      exchangeFor: (d) => (d === 'sys' ? 'amq.topic' : `herald.${d}`),
    });
    assert.deepEqual(topologyOf(s, 'hot'), {
      exchange: 'herald.hot',
      partitions: 16,
      dlx: 'hot.dlx',
      parkingQueue: null,
    });
    assert.equal(topologyOf({ ...s, partitionsFor: () => 2 }, 'orders.dlq').parkingQueue, 'orders.dlq');
    const cold = rejects(() => topologyOf(s, 'cold'), 'HERALD_INVALID_CONFIG', 'partitions("cold")');
    assert.match(cold.message, /^partitions\("cold"\): .+ must be an integer from 1 to 1000$/);
    rejects(() => topologyOf(s, 'sys'), 'HERALD_INVALID_DESTINATION');
    const numbered = { ...s, exchangeFor: () => 7 as unknown as string };
    rejects(() => topologyOf(numbered, 'orders'), 'HERALD_INVALID_CONFIG', 'exchangeFor("orders")');
    rejects(() => topologyOf(s, 'orders.dlx'), 'HERALD_INVALID_DESTINATION');
    rejects(() => topologyOf(s, 'bad name'), 'HERALD_INVALID_DESTINATION');
    assert.equal(queueName('orders', 'billing', 3), 'orders.billing.3');
    rejects(() => queueName('o'.repeat(249), 'g'.repeat(10), 0), 'HERALD_INVALID_DESTINATION');
  });
});

describe('rabbitmq wire mapping', () => {
  it("partitions keys with Kafka's murmur2 (the Java client's test vectors)", () => {
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) assert.equal(murmur2(Buffer.from(key)), hash, key);
    for (let i = 0; i < 100; i++) {
      const p = partitionOf(`k${i}`, 7);
      assert.ok(Number.isInteger(p) && p >= 0 && p < 7);
      assert.equal(partitionOf(`k${i}`, 7), p);
    }
  });

  it('maps CloudEvents attributes to the AMQP binding and back', () => {
    const m = eventMessage('orders', 'order.placed', { n: 1 }, { key: 'o-1', correlationId: 'c-1' });
    m.headers.tenant = 'acme';
    const props = toAmqp(m);
    assert.equal(props.persistent, true);
    assert.equal(props.mandatory, true);
    assert.equal(props.messageId, m.id);
    assert.equal(props.contentType, 'application/json');
    assert.equal(props.headers.cloudEvents_id, m.id);
    assert.equal(props.headers.cloudEvents_type, 'order.placed');
    assert.equal(props.headers.cloudEvents_correlationid, 'c-1');
    assert.equal(props.headers.herald_key, 'o-1');
    assert.equal(props.headers.tenant, 'acme');
    assert.ok(!Object.keys(props.headers).some((k) => k.startsWith('ce_') || k === 'content-type'));
    const back = fromAmqp({ properties: { headers: props.headers, contentType: props.contentType } } as never);
    assert.equal(back.key, 'o-1');
    assert.deepEqual(back.headers, m.headers);
    // Other publishers' typed values arrive as text.
    const other = fromAmqp({ properties: { headers: { n: 5, b: Buffer.from('x'), t: true } } } as never);
    assert.deepEqual(other, { key: null, headers: { n: '5', b: 'x', t: 'true' } });
  });
});

describe('rabbitmq errors', () => {
  const target = 'amqp://h:5672/';
  it('maps amqplib errors to codes that say whether a retry can help', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5672'), { code: 'ECONNREFUSED' });
    assert.equal(toHeraldError(refused, target, 'publish').code, 'HERALD_BROKER_UNAVAILABLE');
    assert.equal(toHeraldError(refused, target, 'publish').retriable, true);
    const forced = Object.assign(new Error('Connection closed: 320 (CONNECTION-FORCED) with message "shutdown"'), {
      code: 320,
    });
    assert.equal(toHeraldError(forced, target, 'consume').code, 'HERALD_BROKER_UNAVAILABLE');
    const big = Object.assign(
      new Error(
        'Channel closed by server: 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - message size 30000 is larger than configured max size 20000"',
      ),
      { code: 406 },
    );
    const tooLarge = toHeraldError(big, target, 'publish');
    assert.equal(tooLarge.code, 'HERALD_MESSAGE_TOO_LARGE');
    assert.equal(tooLarge.retriable, false);
    const headers = new RangeError('Encoded field table (headers or arguments) exceeds the 65536 byte encoding buffer');
    assert.equal(toHeraldError(headers, target, 'publish').code, 'HERALD_MESSAGE_TOO_LARGE');
    const other = Object.assign(
      new Error(
        "Channel closed by server: 406 (PRECONDITION-FAILED) with message \"PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q'\"",
      ),
      { code: 406 },
    );
    assert.equal(toHeraldError(other, target, 'publish').code, 'HERALD_INVALID_CONFIG');
    const login = new Error('Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED"');
    const denied = toHeraldError(login, target, 'connect');
    assert.equal(denied.code, 'HERALD_AUTHENTICATION_FAILED');
    assert.equal(denied.retriable, true);
    assert.match(denied.message, /user and password/);
    const vhost = toHeraldError(
      new Error('Handshake terminated by server: 530 (NOT-ALLOWED) with message "NOT_ALLOWED - vhost x not found"'),
      target,
      'connect',
    );
    assert.equal(vhost.code, 'HERALD_BROKER_UNAVAILABLE');
    assert.match(vhost.message, /user, password and vhost/);
    const nack = toHeraldError(new Error('message nacked'), target, 'publish');
    assert.equal(nack.code, 'HERALD_PUBLISH_FAILED');
    assert.equal(nack.retriable, true);
  });

  it('refuses a message over maxMessageBytes before connecting; an unreachable server is retriable', async () => {
    const t = rabbitmq({ url: `amqp://herald:${secret}@127.0.0.1:1`, maxMessageBytes: 1000, timeoutMs: 2000 });
    const big = eventMessage('orders', 'order.placed', { pad: 'x'.repeat(2000) });
    await assert.rejects(t.publish([big]), (e) => isHeraldError(e, 'HERALD_MESSAGE_TOO_LARGE') && !e.retriable);
    const small = eventMessage('orders', 'order.placed', { n: 1 });
    await assert.rejects(t.publish([small]), (e) => {
      assert.ok(isHeraldError(e, 'HERALD_BROKER_UNAVAILABLE') && e.retriable, String(e));
      assert.ok(!/s3cr|herald:/.test(e.message), e.message);
      return true;
    });
    await assert.rejects(t.connect(), (e) => isHeraldError(e, 'HERALD_BROKER_UNAVAILABLE'));
    await t.close();
  });
});
