import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { adminRoutes, createAdminHandler, silentLogger, type Transport } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, uniqueName } from '../support/env.ts';
import { readTopic, setTopicConfig } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';
import { adminFixture, adminToken, call, close, readToken, serve } from './fixture.ts';

type Fixture = Awaited<ReturnType<typeof adminFixture>>;

describe('admin API on PostgreSQL and Kafka', () => {
  let f: Fixture;
  before(async () => {
    f = await adminFixture();
  });
  after(() => f.close());

  it('every route asks for credentials, lets the read role read and only the admin role act', async () => {
    const tooLarge = String(f.events[1]?.id);
    for (const r of adminRoutes) {
      const path = r.path.replace('{id}', r.path.startsWith('/api/replays') ? 'r-none' : tooLarge);
      const anonymous = await call(f.base, r.method, path, { token: null, body: r.method === 'POST' ? {} : undefined });
      assert.equal(anonymous.status, 401, `${r.method} ${path} without a token`);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /Bearer/);
      assert.equal((await call(f.base, r.method, path, { token: 'not-a-token-at-all' })).status, 401);
      const read = await call(f.base, r.method, path, { token: readToken, body: r.method === 'POST' ? {} : undefined });
      if (r.role === 'admin') {
        assert.equal(read.status, 403, `${r.method} ${path} with the read token`);
        assert.match(read.body.error, /admin role/);
      } else {
        assert.ok(
          read.status === 200 || read.status === 404,
          `${r.method} ${path} read: ${read.status} ${JSON.stringify(read.body)}`,
        );
      }
    }
    // Basic auth, as configured users.
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const ok = await call(f.base, 'GET', '/api/whoami', {
      token: null,
      headers: { authorization: basic('ops', 'ops-password') },
    });
    assert.deepEqual([ok.status, ok.body.role], [200, 'read']);
    const wrong = await call(f.base, 'GET', '/api/whoami', {
      token: null,
      headers: { authorization: basic('ops', 'nope-nope') },
    });
    assert.equal(wrong.status, 401);
    assert.equal((await call(f.base, 'GET', '/api/whoami')).body.role, 'admin');
    // The health endpoints need no token when none is configured for them.
    assert.equal((await call(f.base, 'GET', '/healthz', { token: null })).status, 200);
    assert.equal((await call(f.base, 'DELETE', '/api/status')).status, 405);
    assert.equal((await call(f.base, 'GET', '/api/no-such-route')).status, 404);
  });

  it('status, backlog per shard, relays with their leases, consumer groups', async () => {
    const status = await call(f.base, 'GET', '/api/status', { token: readToken });
    assert.equal(status.status, 200);
    assert.equal(status.body.schema, f.db.schema);
    assert.equal(status.body.deadLetters.pending, 1);
    assert.equal(status.body.backlog.shards.length, 64);
    // The relay stores its cursors with its heartbeat: the backlog follows publishing by up to one.
    await waitFor('the backlog read as published', async () => {
      const b = await call(f.base, 'GET', '/api/backlog', { token: readToken });
      return b.body.events === 0;
    });
    const backlog = await call(f.base, 'GET', '/api/backlog', { token: readToken });
    assert.equal(backlog.body.events, 0, 'everything published');
    assert.equal(backlog.body.shards.length, 64);
    await waitFor('the relay holding every shard', async () => {
      const r = await call(f.base, 'GET', '/api/relays', { token: readToken });
      return r.body.relays.length === 1 && r.body.relays[0].shards.length === 64;
    });
    const relays = await call(f.base, 'GET', '/api/relays', { token: readToken });
    assert.equal(relays.body.relays[0].alive, true);
    assert.equal(relays.body.shards[0].heldBy, relays.body.relays[0].id);
    const consumers = await call(f.base, 'GET', '/api/consumers', { token: readToken });
    assert.deepEqual(
      consumers.body.groups.map((g: { group: string; deadLetters: { pending: number } }) => [
        g.group,
        g.deadLetters.pending,
      ]),
      [['billing', 2]],
    );
    const history = await call(f.base, 'GET', '/api/status/history', { token: readToken });
    assert.ok(history.body.samples.length >= 1);
    assert.equal(history.body.samples.at(-1).deadLetters, 3);
    const secretless = JSON.stringify([status.body, relays.body, consumers.body]);
    assert.doesNotMatch(secretless, /postgres:\/\/|token-0123/);
  });

  it('dead letters: list with filters, show, grouped by failure; bad input is a 400 with the reason', async () => {
    const id = String(f.events[1]?.id);
    const list = await call(f.base, 'GET', `/api/dead-letters?type=admin.shipped&error=TOO_LARGE`, {
      token: readToken,
    });
    assert.deepEqual(
      list.body.deadLetters.map((d: { id: string }) => d.id),
      [id],
    );
    assert.deepEqual(
      (await call(f.base, 'GET', '/api/dead-letters?key=order-1', { token: readToken })).body.deadLetters,
      [],
    );
    const shown = await call(f.base, 'GET', `/api/dead-letters/${id}`, { token: readToken });
    assert.equal(shown.body.error.code, 'HERALD_MESSAGE_TOO_LARGE');
    assert.equal(shown.body.payload.n, 2);
    const groupList = await call(f.base, 'GET', '/api/dead-letters?group=billing', { token: readToken });
    assert.equal(groupList.body.deadLetters.length, 2);
    assert.equal(
      (await call(f.base, 'GET', '/api/dead-letters/m-1?group=billing', { token: readToken })).body.id,
      'm-1',
    );

    const groups = await call(f.base, 'GET', '/api/dead-letters/groups', { token: readToken });
    // The two consumer dead letters differ in numbers and quoted text only: one failure.
    const billing = groups.body.groups.find((g: { group: string | null }) => g.group === 'billing');
    assert.equal(billing.count, 2);
    assert.equal(billing.shape, 'no customer <n> for order <text>');
    assert.deepEqual(billing.ids, ['m-1', 'm-2']);
    const relayGroup = groups.body.groups.find((g: { group: string | null }) => g.group === null);
    assert.deepEqual([relayGroup.errorCode, relayGroup.count, relayGroup.ids], ['HERALD_MESSAGE_TOO_LARGE', 1, [id]]);

    const bad: [string, RegExp][] = [
      ['/api/dead-letters?status=lost', /status: "lost" must be one of pending/],
      ['/api/dead-letters?status=retrying', /consumer groups only/],
      ['/api/dead-letters?limit=0', /limit: "0" must be an integer from 1 to 10000/],
      ['/api/dead-letters?since=yesterday', /--since|since: "yesterday" is not an ISO 8601 time/],
      ['/api/dead-letters?colour=red', /colour: is not a query field/],
      ['/api/dead-letters?error=a&error=b', /error: is given more than once/],
      ['/api/dead-letters/not-a-uuid', /id: must be an event id/],
      ['/api/dead-letters/m-1?group=a,b', /name one group/],
      ['/api/dead-letters/groups?limit=x', /limit: "x" must be an integer/],
      ['/api/events?from=2h&to=3h', /from: must be before to/],
      ['/api/events?limit=5000', /limit: "5000" must be an integer from 1 to 1000/],
    ];
    for (const [path, reason] of bad) {
      const r = await call(f.base, 'GET', path, { token: readToken });
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error, reason, path);
    }
    const missing = await call(f.base, 'GET', '/api/dead-letters/0197aaaa-0000-7000-8000-000000000000', {
      token: readToken,
    });
    assert.equal(missing.status, 404);
    assert.equal((await call(f.base, 'GET', '/api/dead-letters/m-9?group=billing', { token: readToken })).status, 404);
  });

  it('retry publishes a relay dead letter again once its cause is fixed; discard and group retry by filter', async () => {
    const id = String(f.events[1]?.id);
    const badBodies: [unknown, number, RegExp][] = [
      [{}, 400, /retry needs ids or a filter/],
      ['{not json', 400, /not JSON/],
      [[1], 400, /must be a JSON object/],
      [{ ids: ['x'] }, 400, /ids: "x" is not an event id/],
      [{ ids: 'one' }, 400, /ids: .*must be a list/],
      [{ type: [''] }, 400, /type: .*must be a list of 1 to 1000 non-empty strings/],
      [{ limit: 1.5 }, 400, /limit: 1.5 must be an integer/],
      [{ force: true }, 400, /force: is not a body field/],
    ];
    for (const [body, status, reason] of badBodies) {
      const r = await call(f.base, 'POST', '/api/dead-letters/retry', { body });
      assert.equal(r.status, status, JSON.stringify(body));
      assert.match(r.body.error, reason);
    }
    const form = await call(f.base, 'POST', '/api/dead-letters/retry', {
      body: 'ids=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(form.status, 415);

    // Not fixed yet: it fails again and stays pending.
    const again = await call(f.base, 'POST', `/api/dead-letters/${id}/retry`);
    assert.deepEqual([again.status, again.body.published, again.body.failed], [200, 0, 1]);
    assert.equal(again.body.results[0].error.code, 'HERALD_MESSAGE_TOO_LARGE');
    await setTopicConfig(f.topic, 'max.message.bytes', '1048576');
    const retried = await call(f.base, 'POST', '/api/dead-letters/retry', { body: { ids: [id] } });
    assert.deepEqual([retried.body.published, retried.body.failed], [1, 0]);
    const published = await readTopic(f.topic, 4);
    assert.equal(JSON.parse(published[3]?.value ?? '{}').n, 2);
    assert.equal((await call(f.base, 'GET', `/api/dead-letters/${id}`)).body.status, 'retried');

    const marked = await call(f.base, 'POST', '/api/dead-letters/retry', {
      body: { group: ['billing'], ids: ['m-1'] },
    });
    assert.deepEqual(marked.body, { marked: 1 });
    const discarded = await call(f.base, 'POST', '/api/dead-letters/discard', {
      body: { group: ['billing'], error: 'no customer' },
    });
    assert.deepEqual(discarded.body, { discarded: 1 }, 'm-2: m-1 is retrying, not pending');
    assert.deepEqual((await call(f.base, 'POST', '/api/dead-letters/m-1/discard?group=billing&status=x')).status, 400);
    const statuses = await call(f.base, 'GET', '/api/dead-letters?group=billing&status=all');
    assert.deepEqual(
      statuses.body.deadLetters.map((d: { id: string; status: string }) => `${d.id}:${d.status}`).sort(),
      ['m-1:retrying', 'm-2:discarded'],
    );
    assert.deepEqual(
      (await call(f.base, 'POST', `/api/dead-letters/${id}/discard`)).body,
      { discarded: 0 },
      'already retried',
    );
  });

  it('a replay runs to completion with progress, to one topic; it can be cancelled; bad filters are refused', async () => {
    const destination = uniqueName('herald-admin-replay');
    const bad: [unknown, RegExp][] = [
      [{}, /from: is required/],
      [{ from: 'soon' }, /from.*is not an ISO 8601 time/],
      [{ from: '1h', to: '2h' }, /from: .* must be before to/],
      [{ from: '1h', pageSize: 0 }, /pageSize: 0 must be an integer from 1/],
      [{ from: '1h', destination: 'bad topic!' }, /destination/],
    ];
    for (const [body, reason] of bad) {
      const r = await call(f.base, 'POST', '/api/replays', { body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error, reason);
    }
    const started = await call(f.base, 'POST', '/api/replays', {
      body: { from: '1h', keys: ['order-1', 'order-3'], destination, pageSize: 1 },
    });
    assert.equal(started.status, 202);
    assert.equal(started.body.state, 'running');
    let job = started.body;
    await waitFor('the replay to end', async () => {
      job = (await call(f.base, 'GET', `/api/replays/${started.body.id}`, { token: readToken })).body;
      return job.state !== 'running';
    });
    assert.equal(job.state, 'completed', JSON.stringify(job));
    assert.deepEqual([job.done, job.total, job.result.published], [2, 2, 2]);
    const replayed = await readTopic(destination, 2);
    assert.deepEqual(replayed.map((m) => JSON.parse(m.value).n).sort(), [1, 3]);
    assert.equal(replayed[0]?.headers['herald-replay'], job.result.replayId);

    const dry = await call(f.base, 'POST', '/api/replays', {
      body: { from: '1h', dryRun: true, aggregateTypes: ['no-such-aggregate'] },
    });
    const cancelled = await call(f.base, 'POST', `/api/replays/${dry.body.id}/cancel`);
    assert.equal(cancelled.status, 200);
    assert.ok(['completed', 'cancelled'].includes(cancelled.body.state));
    assert.deepEqual(cancelled.body.filter.aggregateTypes, ['no-such-aggregate']);
    if (cancelled.body.state === 'completed')
      assert.equal(cancelled.body.result.matched, 0, 'no event of that aggregate');
    const list = await call(f.base, 'GET', '/api/replays', { token: readToken });
    assert.deepEqual(
      list.body.replays.map((r: { id: string }) => r.id),
      [dry.body.id, started.body.id],
    );
    assert.equal((await call(f.base, 'GET', '/api/replays/r-none')).status, 404);
    assert.equal((await call(f.base, 'POST', '/api/replays/r-none/cancel')).status, 404);
  });

  it('cancel stops a running replay after its page in flight', async () => {
    // Kafka behind a gate: the first page is published, the second waits until the test opens it.
    const kafkaTransport = kafka({ brokers });
    let pages = 0;
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const gated: Transport = {
      ...kafkaTransport,
      async publish(messages) {
        if (++pages > 1) await gate;
        return kafkaTransport.publish(messages);
      },
    };
    const admin = createAdminHandler({
      db: f.db.pool,
      schema: f.db.schema,
      transport: gated,
      adminToken,
      logger: silentLogger,
    });
    const served = await serve(admin);
    try {
      const started = await call(served.base, 'POST', '/api/replays', {
        body: { from: '1h', destination: uniqueName('herald-admin-cancel'), pageSize: 1 },
      });
      await waitFor('the second page waiting', () => pages === 2);
      const cancelling = call(served.base, 'POST', `/api/replays/${started.body.id}/cancel`);
      const running = await call(served.base, 'GET', `/api/replays/${started.body.id}`);
      assert.deepEqual([running.body.state, running.body.done, running.body.total], ['running', 1, 4]);
      open();
      const cancelled = await cancelling;
      assert.equal(cancelled.body.state, 'cancelled');
      assert.equal(cancelled.body.result.complete, false);
      assert.equal(cancelled.body.done, 2, 'the page in flight, then no more');
    } finally {
      open();
      await close(served.server);
      await admin.close();
      await kafkaTransport.close();
    }
  });

  it('events by id, key, type and time range, newest first, with whether each is published', async () => {
    const [first, , third] = f.events;
    const byId = await call(f.base, 'GET', `/api/events/${first?.id}`, { token: readToken });
    assert.deepEqual([byId.body.id, byId.body.payload.n, byId.body.published], [first?.id, 1, true]);
    const byKey = await call(f.base, 'GET', '/api/events?key=order-3&key=order-1', { token: readToken });
    assert.deepEqual(byKey.body.events.map((e: { id: string }) => e.id).sort(), [first?.id, third?.id].sort());
    const byType = await call(f.base, 'GET', '/api/events?type=admin.shipped&from=1h&to=now&limit=3', {
      token: readToken,
    });
    assert.equal(byType.body.events.length, 3);
    const byAggregate = await call(f.base, 'GET', '/api/events?aggregateType=order&aggregateId=o-3', {
      token: readToken,
    });
    assert.deepEqual(
      byAggregate.body.events.map((e: { id: string; aggregate: unknown }) => [e.id, e.aggregate]),
      [[third?.id, { type: 'order', id: 'o-3' }]],
    );
    const lonelyId = await call(f.base, 'GET', '/api/events?aggregateId=o-3', { token: readToken });
    assert.deepEqual([lonelyId.status, lonelyId.body.error], [400, 'aggregateId: needs aggregateType']);
    const none = await call(f.base, 'GET', '/api/events?type=admin.shipped&to=2000-01-01', { token: readToken });
    assert.deepEqual(none.body.events, []);
    assert.equal((await call(f.base, 'GET', '/api/events/nope', { token: readToken })).status, 404);
  });

  it('the OpenAPI document lists every route with its role and parameters', async () => {
    const doc = await call(f.base, 'GET', '/api/openapi.json', { token: readToken });
    assert.equal(doc.body.openapi, '3.1.0');
    for (const r of adminRoutes) {
      const op = doc.body.paths[r.path]?.[r.method.toLowerCase()];
      assert.ok(op, `${r.method} ${r.path} in the document`);
      assert.match(op.description, new RegExp(`Role: ${r.role}`));
    }
    const list = doc.body.paths['/api/dead-letters'].get;
    assert.ok(
      list.parameters.some(
        (p: { name: string; schema: { enum?: string[] } }) =>
          p.name === 'status' && p.schema.enum?.includes('retrying'),
      ),
    );
    assert.deepEqual(doc.body.paths['/api/replays'].post.requestBody.content['application/json'].schema.required, [
      'from',
    ]);
    // docs/dashboard.md lists every route.
    const page = readFileSync(new URL('../../docs/dashboard.md', import.meta.url), 'utf8');
    for (const r of adminRoutes) {
      const shown = r.path.replace(/^\/api\/dead-letters\/\{id\}\/(retry|discard)$/, '/api/dead-letters/{id}/retry');
      assert.ok(page.includes(`${r.method} ${shown}`), `docs/dashboard.md lists ${r.method} ${r.path}`);
    }
  });
});
