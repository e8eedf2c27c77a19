// How the admin API is switched on and served: off without credentials, open to loopback
// callers only, mounted under a base path beside the health endpoints, and through fetch. No
// database needed (it points at one that is not there). The routes themselves: api.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAdminHandler, createHttpHandler, silentLogger } from '../../src/index.ts';
import { adminToken, call, close, readToken, serve } from './fixture.ts';

describe('admin API: off, open, mounted', () => {
  it('is off without credentials; open answers loopback callers only; short tokens are refused', async () => {
    const off = createAdminHandler({
      db: 'postgres://nobody@127.0.0.1:1/none',
      logger: silentLogger,
    });
    const served = await serve(off);
    try {
      const r = await call(served.base, 'GET', '/api/status');
      // HERALD_ADMIN_TOKEN is not set in the tests' environment.
      assert.equal(r.status, 404);
      assert.match(r.body.error, /admin API is off/);
    } finally {
      await close(served.server);
      await off.close();
    }
    const open = createAdminHandler({ db: 'postgres://nobody@127.0.0.1:1/none', open: true, logger: silentLogger });
    const local = await serve(open);
    try {
      const who = await call(local.base, 'GET', '/api/whoami', { token: null });
      assert.deepEqual([who.status, who.body.role], [200, 'admin']);
      // Through fetch (Hono), the caller's address is unknown: refused.
      const viaFetch = await open.fetch(new Request('http://x/api/whoami'));
      assert.equal(viaFetch.status, 403);
      // The database away: 503 with the reason, the password never shown.
      const down = await call(local.base, 'GET', '/api/status', { token: null });
      assert.equal(down.status, 503);
      assert.match(down.body.error, /cannot reach PostgreSQL/);
    } finally {
      await close(local.server);
      await open.close();
    }
    assert.throws(
      () => createAdminHandler({ adminToken: 'short', db: 'postgres://x@127.0.0.1:1/x' }),
      /adminToken \/ HERALD_ADMIN_TOKEN: must be a string of 8/,
    );
  });

  it('mounts under a base path beside the health endpoints, and through fetch', async () => {
    const admin = createAdminHandler({
      db: 'postgres://nobody:hunter2@127.0.0.1:1/none',
      readToken,
      adminToken,
      logger: silentLogger,
    });
    const handler = createHttpHandler({ basePath: '/ops', routes: [admin] });
    const app = await serve((req, res) => handler(req, res, () => res.end('next')));
    try {
      assert.equal((await call(app.base, 'GET', '/ops/api/whoami', { token: readToken })).body.role, 'read');
      assert.equal((await call(app.base, 'GET', '/ops/healthz', { token: null })).status, 200);
      assert.equal((await call(app.base, 'GET', '/api/whoami', { token: readToken })).body, 'next');
      assert.equal((await call(app.base, 'GET', '/ops/api/elsewhere', { token: readToken })).body, 'next');
      const down = await call(app.base, 'GET', '/ops/api/status', { token: readToken });
      assert.equal(down.status, 503);
      assert.doesNotMatch(down.body.error, /hunter2/);
      const page = await fetch(`${app.base}/ops/dashboard/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      const sneaky = await fetch(`${app.base}/ops/dashboard/..%2Fpackage.json`);
      assert.doesNotMatch(await sneaky.text(), /"name"/, "only the dashboard folder's own files");
    } finally {
      await close(app.server);
    }
    // A body a framework parsed already (express.json(), Fastify's request.body) is taken from req.body.
    const parsed = await serve((req, res) => {
      Object.assign(req, { body: { ids: ['not-a-uuid'] } });
      admin(req, res);
    });
    try {
      const r = await call(parsed.base, 'POST', '/api/dead-letters/discard', { token: adminToken });
      assert.equal(r.status, 400);
      assert.match(r.body.error, /ids: "not-a-uuid" is not an event id/);
    } finally {
      await close(parsed.server);
    }
    const viaFetch = await admin.fetch(
      new Request('http://service/api/whoami', { headers: { authorization: `Bearer ${readToken}` } }),
    );
    assert.deepEqual(await viaFetch.json(), { role: 'read', schema: 'herald', canPublish: false });
    const denied = await admin.fetch(
      new Request('http://service/api/dead-letters/discard', {
        method: 'POST',
        headers: { authorization: `Bearer ${readToken}` },
        body: '{}',
      }),
    );
    assert.equal(denied.status, 403);
    await admin.close();
  });
});
