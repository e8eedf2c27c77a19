import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { isHeraldError } from '../../src/errors.ts';
import { classifyError } from '../../src/retry/classify.ts';
import { confluentRegistry } from '../../src/schemas/confluent.ts';
import { uniqueName } from '../support/env.ts';
import { recordingProxy, registryUnavailable, registryUrl } from '../support/registry.ts';

// A registry keeps one id per schema text whatever the subject, and a shared server outlives a
// run: a namespace of this run's own keeps an earlier run's subjects out of the id lookups.
const namespace = uniqueName('herald.test').replace(/[^A-Za-z0-9_.]/g, '_');
const avro = (name: string, fields: { name: string; type: unknown; default?: unknown }[]) =>
  JSON.stringify({ type: 'record', name, namespace, fields });

const v1 = avro('OrderPlaced', [{ name: 'orderId', type: 'string' }]);
const v2 = avro('OrderPlaced', [
  { name: 'orderId', type: 'string' },
  { name: 'total', type: 'double', default: 0 },
]);

describe('the Confluent registry client, against a real Confluent-compatible server (Apicurio Registry 3)', () => {
  let url: string | null = null;
  before(async () => {
    url = await registryUrl();
  });

  it('registers versions in order, finds them by subject, version and id, and keeps the mode per subject', async (t) => {
    if (!url) return t.skip(`no registry: ${registryUnavailable}`);
    const registry = confluentRegistry({ url });
    const subject = uniqueName('order.placed');

    assert.equal(await registry.lookup(subject, 'AVRO', v1), undefined, 'nothing registered yet');
    assert.deepEqual(await registry.versions(subject), []);
    const first = await registry.register(subject, 'AVRO', v1);
    assert.equal(first.subject, subject);
    assert.equal(first.version, 1);
    assert.equal(first.format, 'AVRO');
    const again = await registry.register(subject, 'AVRO', v1);
    assert.deepEqual(again, first, 'the same schema registered again is the same version and id');
    const second = await registry.register(subject, 'AVRO', v2);
    assert.equal(second.version, 2);
    assert.notEqual(second.id, first.id);

    assert.ok((await registry.subjects()).includes(subject));
    const versions = await registry.versions(subject);
    assert.deepEqual(
      versions.map((v) => [v.version, v.id]),
      [
        [1, first.id],
        [2, second.id],
      ],
    );
    assert.deepEqual(JSON.parse(versions[1]?.schema ?? ''), JSON.parse(v2));

    const found = await registry.lookup(subject, 'AVRO', v2);
    assert.equal(found?.id, second.id);
    const byId = await confluentRegistry({ url }).byId(second.id);
    assert.equal(byId.subject, subject);
    assert.equal(byId.version, 2);
    assert.deepEqual(JSON.parse(byId.schema), JSON.parse(v2));

    await registry.setCompatibility(subject, 'BACKWARD');
    assert.equal(await registry.getCompatibility(subject), 'BACKWARD');
    await registry.setCompatibility(subject, 'FULL_TRANSITIVE');
    assert.equal(await registry.getCompatibility(subject), 'FULL_TRANSITIVE');
    await assert.rejects(registry.setCompatibility(subject, 'SIDEWAYS' as 'FULL'), (e) =>
      isHeraldError(e, 'HERALD_INVALID_CONFIG'),
    );
    assert.equal(await registry.getCompatibility(uniqueName('never.registered')), undefined);
  });

  it('an unknown id is HERALD_UNKNOWN_SCHEMA (permanent); a schema the server cannot parse is HERALD_REGISTRY_FAILED', async (t) => {
    if (!url) return t.skip(`no registry: ${registryUnavailable}`);
    const registry = confluentRegistry({ url });
    await assert.rejects(registry.byId(987_654_321), (e) => {
      assert.ok(isHeraldError(e, 'HERALD_UNKNOWN_SCHEMA'));
      assert.equal(classifyError(e), 'permanent');
      return true;
    });
    await assert.rejects(registry.register(uniqueName('bad'), 'AVRO', '{"type": "record", "name": '), (e) => {
      assert.ok(isHeraldError(e, 'HERALD_REGISTRY_FAILED'), String(e));
      return true;
    });
  });

  it('reads a schema by id once and caches it; sends basic auth and never shows the password', async (t) => {
    if (!url) return t.skip(`no registry: ${registryUnavailable}`);
    const proxy = await recordingProxy(url);
    t.after(proxy.close);
    const registry = confluentRegistry({ url: proxy.url, auth: { username: 'herald', password: 's3cret-pw' } });
    const { id } = await registry.register(uniqueName('cached'), 'AVRO', v1);
    const before = proxy.seen.filter((r) => r.path.startsWith(`/schemas/ids/${id}`)).length;
    for (let i = 0; i < 5; i++) assert.equal((await registry.byId(id)).id, id);
    const reads = proxy.seen.filter((r) => r.path.startsWith(`/schemas/ids/${id}`)).length - before;
    assert.equal(reads, 2, 'one read of the schema and one of where it is registered, then the cache');
    const expected = `Basic ${Buffer.from('herald:s3cret-pw').toString('base64')}`;
    assert.ok(proxy.seen.every((r) => r.authorization === expected));
    assert.ok(!registry.describe().includes('s3cret'));
  });

  it('a registry that refuses the credentials: HERALD_AUTHENTICATION_FAILED without the password; credentials in the URL are refused', async (t) => {
    // A server that answers 401 as a registry with auth on does.
    const server = http.createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: 40101, message: 'Unauthorized' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    const registry = confluentRegistry({
      url: `http://127.0.0.1:${port}`,
      auth: { username: 'u', password: 'hunter2-secret' },
    });
    await assert.rejects(registry.subjects(), (e) => {
      assert.ok(isHeraldError(e, 'HERALD_AUTHENTICATION_FAILED'), String(e));
      assert.match((e as Error).message, /HTTP 401 Unauthorized/);
      assert.ok(
        !JSON.stringify({ m: (e as Error).message, d: (e as { details: unknown }).details }).includes('hunter2'),
      );
      return true;
    });
    assert.throws(
      () => confluentRegistry({ url: 'http://u:hunter2-secret@127.0.0.1:1' }),
      (e) => isHeraldError(e, 'HERALD_INVALID_CONFIG') && !(e as Error).message.includes('hunter2'),
    );
    assert.throws(
      () => confluentRegistry({ url: 'http://127.0.0.1:1', auth: { username: 'u', password: '' } }),
      (e) => isHeraldError(e, 'HERALD_INVALID_CONFIG'),
    );
  });

  it('a registry that is down or does not answer is HERALD_REGISTRY_UNAVAILABLE: an outage, retried', async (t) => {
    // A port that was just free: nothing listens.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await assert.rejects(confluentRegistry({ url: `http://127.0.0.1:${closedPort}` }).byId(1), (e) => {
      assert.ok(isHeraldError(e, 'HERALD_REGISTRY_UNAVAILABLE'), String(e));
      assert.equal(classifyError(e), 'outage');
      return true;
    });
    // A server that takes the request and never answers.
    const silent = http.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    t.after(
      () =>
        new Promise<void>((r) => {
          silent.close(() => r());
          silent.closeAllConnections();
        }),
    );
    const slow = confluentRegistry({
      url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      timeoutMs: 200,
    });
    await assert.rejects(slow.subjects(), (e) => {
      assert.ok(isHeraldError(e, 'HERALD_REGISTRY_UNAVAILABLE'));
      assert.match((e as Error).message, /no answer in 200 ms/);
      return true;
    });
  });
});
