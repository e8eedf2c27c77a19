import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeraldError } from '../../../src/index.ts';
import { loadNats, natsPackages } from '../../../src/transports/nats/client.ts';
import { toHeraldError } from '../../../src/transports/nats/errors.ts';
import { nats } from '../../../src/transports/nats/index.ts';
import {
  checkNatsDestination,
  consumerNameOf,
  partitionsInDescription,
  streamOf,
} from '../../../src/transports/nats/names.ts';
import { natsSettings } from '../../../src/transports/nats/options.ts';
import { fromNatsHeaders, toNatsHeaders } from '../../../src/transports/nats/wire.ts';
import { partitionOf } from '../../../src/transports/partition.ts';
import type { OutgoingMessage } from '../../../src/transports/transport.ts';
import { thrown } from '../../support/errors.ts';

describe('nats transport: options', () => {
  it('names the bad setting', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{}, 'servers', /servers: .* is not a list of host:port/],
      [{ servers: '' }, 'servers', /servers/],
      [{ servers: ['127.0.0.1:4222', 'not a host'] }, 'servers', /"not a host"/],
      [{ servers: 'h:4222', partitions: 0 }, 'partitions', /partitions: 0 must be an integer from 1 to 1024/],
      [{ servers: 'h:4222', timeoutMs: -1 }, 'timeoutMs', /timeoutMs/],
      [{ servers: 'h:4222', ackWaitMs: 10 }, 'ackWaitMs', /ackWaitMs/],
      [{ servers: 'h:4222', maxAckPendingPerPartition: 1.5 }, 'maxAckPendingPerPartition', /maxAckPending/],
      [{ servers: 'h:4222', streamFor: 'orders' }, 'streamFor', /streamFor/],
      [{ servers: 'h:4222', maxAgeMs: 1_000 }, 'duplicateWindowMs', /must not be longer than maxAgeMs/],
      [{ servers: 'h:4222', groupLeaseMs: 100 }, 'groupLeaseMs', /groupLeaseMs: 100 must be an integer from 3000/],
      [{ servers: 'h:4222', user: 'alice' }, 'user', /give both or neither/],
      [{ servers: 'h:4222', pass: 'secret' }, 'pass', /give both or neither/],
      [{ servers: 'h:4222', name: 'has space' }, 'name', /name: "has space" must be 1-128 printable/],
      [{ servers: 'h:4222', replicas: 6 }, 'replicas', /replicas: 6 must be an integer from 1 to 5/],
      [{ servers: 'h:4222', fetchBatch: 0 }, 'fetchBatch', /fetchBatch/],
      [{ servers: 'h:4222', user: 'a', pass: 'b', token: 't' }, 'token', /either a token or user and pass/],
    ];
    for (const [options, setting, message] of cases) {
      const error = thrown(() => nats(options as never));
      assert.equal(error.code, 'HERALD_INVALID_CONFIG');
      assert.equal(error.details.setting, setting, JSON.stringify(options));
      assert.match(error.message, message);
    }
  });

  it('accepts host:port and URLs, as a list or comma-separated', () => {
    assert.deepEqual(natsSettings({ servers: 'a:4222, nats://b:4223,tls://c' }).servers, [
      'a:4222',
      'nats://b:4223',
      'tls://c',
    ]);
    const s = natsSettings({ servers: ['[::1]:4222'] });
    assert.equal(s.partitions, 8);
    assert.equal(s.ackWaitMs, 30_000);
  });

  it('never shows credentials: not in describe(), not in errors', () => {
    const t = nats({ servers: 'nats://alice:s3cret@broker:4222' });
    assert.equal(t.describe(), 'nats://broker:4222');
    assert.doesNotMatch(nats({ servers: 'h:1', user: 'alice', pass: 's3cret' }).describe(), /alice|s3cret/);
    const bad = thrown(() => nats({ servers: 'nats://alice:s3cret@bad host:4222' }));
    assert.doesNotMatch(bad.message, /s3cret/);
    const empty = thrown(() => nats({ servers: 'h:1', user: 'alice', pass: '' }));
    assert.equal(empty.details.setting, 'pass');
    assert.match(empty.message, /^pass: must be a non-empty string/);
    const token = thrown(() => nats({ servers: 'h:1', token: 7 as unknown as string }));
    assert.equal(token.details.setting, 'token');
    assert.doesNotMatch(token.message, /7/);
  });

  it('names the missing packages', async () => {
    const error = await loadNats(() => Promise.reject(new Error("Cannot find package '@nats-io/jetstream'"))).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof HeraldError);
    assert.equal(error.code, 'HERALD_MISSING_DEPENDENCY');
    assert.equal(error.message, `the NATS transport needs ${natsPackages}: npm install ${natsPackages}`);
  });
});

describe('nats transport: names and partitions', () => {
  it('partitions keys with FNV-1a, stably', () => {
    assert.equal(partitionOf('a', 1024), 0xe40c292c % 1024);
    assert.equal(partitionOf('', 7), 0x811c9dc5 % 7);
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[partitionOf(`order-${i}`, 8)]++;
    for (const n of counts) assert.ok(n > 800 && n < 1200, `uneven: ${counts}`);
  });

  it('maps destinations to streams and groups to consumer names without dots', () => {
    const s = natsSettings({ servers: 'h:1' });
    assert.equal(streamOf(s, 'orders.created'), 'orders_created');
    const custom = natsSettings({ servers: 'h:1', streamFor: () => 'bad.name' });
    assert.equal(thrown(() => streamOf(custom, 'orders.created')).code, 'HERALD_INVALID_DESTINATION');
    assert.equal(consumerNameOf('billing', 3), 'billing-p3');
    assert.match(consumerNameOf('billing.eu', 0), /^billing_eu-[0-9a-f]{8}-p0$/);
    assert.notEqual(consumerNameOf('a.b', 0), consumerNameOf('a_b', 0));
    for (const bad of ['a..b', '.a', 'a.', 'a b']) {
      assert.equal(thrown(() => checkNatsDestination(bad, 'topic')).code, 'HERALD_INVALID_DESTINATION');
    }
    assert.equal(partitionsInDescription('herald partitions=3'), 3);
    assert.equal(partitionsInDescription('made by hand'), null);
  });
});

describe('nats transport: wire and errors', () => {
  it('sends CloudEvents attributes as ce- headers and gives consumers ce_ ones back', async () => {
    const lib = await loadNats();
    const message: OutgoingMessage = {
      id: 'e1',
      topic: 't',
      key: 'k1',
      value: Buffer.from('{}'),
      headers: { ce_id: 'e1', ce_type: 'x.y', 'content-type': 'application/json', tenant: 'acme' },
    };
    const h = toNatsHeaders(lib, message);
    assert.deepEqual([...h.keys()].sort(), ['ce-id', 'ce-type', 'content-type', 'herald-key', 'tenant']);
    h.set('Nats-Msg-Id', 'e1');
    assert.deepEqual(fromNatsHeaders(h), {
      key: 'k1',
      headers: { ce_id: 'e1', ce_type: 'x.y', 'content-type': 'application/json', tenant: 'acme' },
    });
  });

  it('maps client and server errors to typed ones', () => {
    const api = (code: number, message: string) =>
      Object.assign(new Error(message), { name: 'JetStreamApiError', code });
    const big = toHeraldError(api(10054, 'message size exceeds maximum allowed'), 'h:1');
    assert.equal(big.code, 'HERALD_MESSAGE_TOO_LARGE');
    assert.equal(big.retriable, false);
    const payload = Object.assign(new Error("'payload' max_payload size exceeded"), { name: 'InvalidArgumentError' });
    assert.equal(toHeraldError(payload, 'h:1').code, 'HERALD_MESSAGE_TOO_LARGE');
    const refused = Object.assign(new Error('connection refused'), {
      name: 'ConnectionError',
      cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    });
    const down = toHeraldError(refused, 'h:1');
    assert.equal(down.code, 'HERALD_BROKER_UNAVAILABLE');
    assert.equal(down.retriable, true);
    const other = toHeraldError(api(10060, 'expected stream does not match'), 'h:1');
    assert.equal(other.code, 'HERALD_INVALID_DESTINATION');
    assert.equal(toHeraldError(new Error('something odd'), 'h:1').code, 'HERALD_PUBLISH_FAILED');
  });

  it('a server that is not there: HERALD_BROKER_UNAVAILABLE, retriable, for publish and subscribe', async () => {
    const t = nats({ servers: '127.0.0.1:1', timeoutMs: 1000 });
    const message: OutgoingMessage = { id: 'e1', topic: 't', key: 'k', value: Buffer.from('{}'), headers: {} };
    const attempts = [
      () => t.publish([message]),
      async () => {
        await t.subscribe?.({ group: 'g', topics: ['t'] });
      },
    ];
    for (const attempt of attempts) {
      const error = await Promise.resolve()
        .then(attempt)
        .then(
          () => assert.fail('expected a rejection'),
          (e: unknown) => e,
        );
      assert.ok(error instanceof HeraldError, String(error));
      assert.equal(error.code, 'HERALD_BROKER_UNAVAILABLE');
      assert.equal(error.retriable, true);
    }
    await t.close();
  });
});
