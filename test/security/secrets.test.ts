import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import { inspect, promisify } from 'node:util';
import { secureKafka } from '../../infra/kafka-secure.mjs';
import { privatePostgres } from '../../infra/postgres.mjs';
import { adminRoutes, confluentRegistry, createConsumer, getStatus, HeraldError } from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, databaseUrl, freshSchema, type TestSchema, uniqueName } from '../support/env.ts';
import { waitFor } from '../support/relay-process.ts';
import { roundTrip } from './round-trip.ts';
import { assertNoSecret, captureLogger, startPrivate } from './secrets.ts';

const run = promisify(execFile);
const dbPassword = 'db-Secret-Pw-5e1a';
const saslPassword = 'sasl-Secret-Pw-77b3';
const pgPassword = 'pg-Cli-Secret-Pw-9d3e';
const adminToken = 'admin-Secret-Token-c0ffee42';
const httpToken = 'http-Secret-Token-bead1234';
const secrets = [dbPassword, saslPassword, adminToken, httpToken];
const user = { name: 'herald-relay', password: saslPassword };

/** The shared database's URL with a password in it (its trust authentication ignores it). */
const withPassword = (url: string) => {
  const u = new URL(url);
  u.password = dbPassword;
  return u.toString();
};

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

describe('secrets never reach logs, errors, metrics, `herald status` or the admin API', () => {
  let broker: Awaited<ReturnType<typeof secureKafka>> | undefined;
  let unavailable: string | undefined;
  /** A PostgreSQL that checks SCRAM passwords, over TLS only. */
  let pgServer: Awaited<ReturnType<typeof privatePostgres>> | undefined;
  let pgUnavailable: string | undefined;
  let db: TestSchema;
  before(async () => {
    db = await freshSchema();
    ({ server: broker, unavailable } = await startPrivate(() => secureKafka({ users: [user] })));
    ({ server: pgServer, unavailable: pgUnavailable } = await startPrivate(() =>
      privatePostgres({ tls: true, password: pgPassword }),
    ));
  });
  after(async () => {
    await broker?.destroy();
    await pgServer?.destroy();
    await db?.drop();
  });

  it('a relay process, a consumer, herald status, the admin API and /metrics, all run with secrets, show none of them', async (t: TestContext) => {
    if (!broker) return t.skip(`skipped: ${unavailable}`);
    const url = withPassword(databaseUrl);
    const outputs: string[] = [];
    const env = {
      ...process.env,
      DATABASE_URL: url,
      HERALD_SCHEMA: db.schema,
      KAFKA_BROKERS: broker.saslPlaintext,
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
      KAFKA_SASL_USERNAME: user.name,
      KAFKA_SASL_PASSWORD: saslPassword,
      HERALD_ADMIN_TOKEN: adminToken,
      HERALD_HTTP_TOKEN: httpToken,
      HERALD_LOG_LEVEL: 'debug',
    };
    const port = await freePort();
    const relay: ChildProcess = spawn(process.execPath, ['src/cli/main.ts', 'relay', '--http', `127.0.0.1:${port}`], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let relayOut = '';
    relay.stdout?.on('data', (c: Buffer) => {
      relayOut += c.toString();
    });
    relay.stderr?.on('data', (c: Buffer) => {
      relayOut += c.toString();
    });
    try {
      // Events through the relay process and a consumer of this process, both with the secrets.
      const logs = captureLogger();
      const sasl = { mechanism: 'SCRAM-SHA-256' as const, username: user.name, password: saslPassword };
      const transport = () => kafka({ brokers: [broker?.saslPlaintext as string], sasl, sessionTimeoutMs: 6000 });
      await waitFor('the relay to serve', async () => {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
        return r !== null;
      });
      const client = { connect: () => db.pool.connect() };
      // The relay process publishes; roundTrip's own drain finds nothing left or publishes too.
      const { handled } = await roundTrip({ pool: client, db: url, schema: db.schema, transport, logger: logs.logger });
      assert.deepEqual(handled, [0, 1, 2]);
      outputs.push(...logs.lines);

      // The HTTP surface: health, metrics (with the token), every GET route of the admin API.
      const base = `http://127.0.0.1:${port}`;
      for (const path of ['/healthz', '/readyz', '/metrics']) {
        const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${httpToken}` } });
        outputs.push(`${path} ${r.status} ${JSON.stringify([...r.headers])} ${await r.text()}`);
      }
      const gets = adminRoutes.filter((r) => r.method === 'GET' && !r.path.includes(':'));
      assert.ok(gets.length >= 3);
      for (const route of gets) {
        const r = await fetch(`${base}/api${route.path.replace(/^\/api/, '')}`, {
          headers: { authorization: `Bearer ${adminToken}` },
        });
        outputs.push(`${route.path} ${r.status} ${await r.text()}`);
      }
      // A wrong token is refused without being repeated.
      const refused = await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${adminToken}x` } });
      assert.equal(refused.status, 401);
      outputs.push(await refused.text());

      // herald status, text and JSON.
      for (const args of [['status'], ['status', '--json']]) {
        const r = await run(process.execPath, ['src/cli/main.ts', ...args], { env }).catch(
          (e: { stdout: string; stderr: string }) => e,
        );
        outputs.push(r.stdout, r.stderr);
        assert.match(r.stdout, new RegExp(db.schema));
      }
      // Errors: an unreachable database, a refused SASL login, a bad URL; from the API and the CLI.
      const unreachable = url.replace(/:5432\//, ':1/');
      const errors: unknown[] = [];
      await getStatus({ db: unreachable, schema: db.schema }).catch((e) => errors.push(e));
      const refusedLogin = kafka({ brokers: [broker.saslPlaintext], sasl: { ...sasl, password: `${saslPassword}!` } });
      await refusedLogin.connect().catch((e) => errors.push(e));
      await refusedLogin.close();
      const bad = await run(process.execPath, ['src/cli/main.ts', 'status'], {
        env: { ...env, DATABASE_URL: `postgres//postgres:${dbPassword}@nowhere` },
      }).catch((e: { stdout: string; stderr: string }) => e);
      const down = await run(process.execPath, ['src/cli/main.ts', 'status', '--json'], {
        env: { ...env, DATABASE_URL: unreachable },
      }).catch((e: { stdout: string; stderr: string }) => e);
      outputs.push(bad.stdout, bad.stderr, down.stdout, down.stderr);
      assert.equal(errors.length, 2);
      for (const e of errors) {
        assert.ok(e instanceof HeraldError);
        outputs.push(e.message, inspect(e, { depth: 20 }), JSON.stringify(e.details));
      }
      // A consumer's own stats and a crash of its connection carry nothing either.
      const consumer = createConsumer({
        transport: transport(),
        group: uniqueName('sec'),
        db: unreachable,
        schema: db.schema,
        logger: logs.logger,
      });
      await consumer.start().catch((e) => outputs.push(inspect(e, { depth: 20 })));
      outputs.push(JSON.stringify(consumer.stats()), ...logs.lines);
    } finally {
      const exited = new Promise((resolve) => relay.once('exit', resolve));
      relay.kill('SIGTERM');
      await exited;
    }
    outputs.push(relayOut);
    assert.match(relayOut, /relay started/);
    t.diagnostic(`scanned ${outputs.length} outputs, ${outputs.join('').length} characters`);
    assert.ok(
      outputs.some((o) => /^\/(api\/)?status 200 /.test(o)),
      'the admin API answered',
    );
    assert.ok(
      outputs.some((o) => o.startsWith('/metrics 200 ')),
      '/metrics answered',
    );
    // The scan itself finds a secret planted in any output (URL-encoded too).
    assert.throws(() => assertNoSecret([...outputs, `x${encodeURIComponent(dbPassword)}y`], secrets));
    assertNoSecret(outputs, secrets);
  });

  it('the CLI against a PostgreSQL that checks passwords (SCRAM over TLS): right and wrong passwords, shown nowhere', async (t: TestContext) => {
    const wrong = 'pg-Cli-Wrong-Pw-2b7f';
    const server = pgServer;
    if (!server) return t.skip(`skipped: ${pgUnavailable}`);
    const right = server.url;
    assert.ok(right.includes(pgPassword), 'the URL carries the password');
    const wrongUrl = right.replace(pgPassword, wrong);
    const schema = uniqueName('herald_sec');
    const outputs: string[] = [];
    const cli = async (args: string[], url: string) => {
      const r = await run(process.execPath, ['src/cli/main.ts', ...args], {
        env: { ...process.env, DATABASE_URL: url, HERALD_SCHEMA: schema, KAFKA_BROKERS: brokers.join(',') },
        timeout: 60_000,
      }).then(
        (ok) => ({ ...ok, code: 0 }),
        (e: { stdout: string; stderr: string; code: number }) => e,
      );
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    // With the right password: migrate, status (text and JSON), migrate status.
    assert.equal((await cli(['migrate'], right)).code, 0);
    assert.match((await cli(['status'], right)).stdout, new RegExp(schema));
    assert.match((await cli(['status', '--json'], right)).stdout, new RegExp(schema));
    assert.equal((await cli(['migrate', 'status'], right)).code, 0);
    // With a wrong one: every command refused as an authentication failure, naming neither.
    for (const args of [['migrate'], ['status'], ['status', '--json'], ['events', '--key', 'k-1'], ['relay']]) {
      const r = await cli(args, wrongUrl);
      assert.equal(r.code, 1, `herald ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /HERALD_AUTHENTICATION_FAILED/, `herald ${args.join(' ')}`);
    }
    t.diagnostic(`scanned ${outputs.length} outputs, ${outputs.join('').length} characters`);
    assert.throws(() => assertNoSecret([...outputs, right], [pgPassword]));
    assertNoSecret(outputs, [pgPassword, wrong]);
  });

  it('examples/security.ts (docs/security.md): Kafka over TLS with SASL/SCRAM, PostgreSQL over TLS with a password per role and only its grants; no secret in its output', async (t: TestContext) => {
    if (!broker || !pgServer) return t.skip(`skipped: ${unavailable ?? pgUnavailable}`);
    const r = await run(process.execPath, ['examples/security.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: pgServer.url,
        KAFKA_BROKERS: broker.saslSsl,
        KAFKA_CA_FILE: broker.certs.ca,
        KAFKA_SASL_USERNAME: user.name,
        KAFKA_SASL_PASSWORD: saslPassword,
        HERALD_LOG_LEVEL: 'debug',
      },
      timeout: 120_000,
    });
    assert.match(r.stdout, /^granted 6 statements to shop_writer and shop_relay$/m);
    assert.match(r.stdout, /^writer reads the log: 42501$/m, 'the writer holds INSERT only');
    assert.match(r.stdout, /^relay as shop_relay published 1 \(tls: yes, sasl: yes\)$/m);
    assert.match(r.stderr, /"msg":"relay started"/, 'its logs are part of what is scanned');
    assertNoSecret([r.stdout, r.stderr], [saslPassword, pgPassword]);
  });

  it('a schema registry with basic auth: refused, failing, unreachable or echoing the credentials back, no error holds them', async () => {
    const registryPassword = 'registry-Secret-Pw-3a9c';
    const token = Buffer.from(`herald:${registryPassword}`).toString('base64');
    // A registry that answers each call differently, and repeats the Authorization header in every answer.
    const answers = [401, 403, 500, 422];
    let n = 0;
    const server = createHttpServer((req, res) => {
      const status = answers[n++ % answers.length] as number;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: status * 100 + 1, message: `refused ${req.headers.authorization}` }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const errors: unknown[] = [];
    try {
      const auth = { username: 'herald', password: registryPassword };
      const registry = confluentRegistry({ url: `http://127.0.0.1:${port}`, auth });
      for (const call of [() => registry.subjects(), () => registry.byId(7), () => registry.versions('s')]) {
        await call().catch((e) => errors.push(e));
      }
      await registry.register('s', 'AVRO', '"string"').catch((e) => errors.push(e));
      await confluentRegistry({ url: 'http://127.0.0.1:1', auth })
        .subjects()
        .catch((e) => errors.push(e));
      for (const bad of [
        `http://herald:${registryPassword}@127.0.0.1:1`,
        { url: 'http://127.0.0.1:1', auth: { ...auth, username: 7 } },
      ]) {
        try {
          confluentRegistry(typeof bad === 'string' ? { url: bad } : (bad as never));
        } catch (e) {
          errors.push(e);
        }
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    assert.equal(errors.length, 7);
    const codes = errors.map((e) => (e as HeraldError).code);
    assert.deepEqual(codes.slice(0, 5), [
      'HERALD_AUTHENTICATION_FAILED',
      'HERALD_AUTHENTICATION_FAILED',
      'HERALD_REGISTRY_UNAVAILABLE',
      'HERALD_REGISTRY_FAILED',
      'HERALD_REGISTRY_UNAVAILABLE',
    ]);
    const outputs = errors.flatMap((e) => [
      String(e),
      inspect(e, { depth: 20 }),
      JSON.stringify((e as HeraldError).details),
    ]);
    assert.ok(
      outputs.some((o) => o.includes('refused Basic ***')),
      'the registry did echo the header',
    );
    // herald schema takes a registry by URL: one with credentials in it is refused without them.
    const cli = await run(process.execPath, [
      'src/cli/main.ts',
      'schema',
      'list',
      '--registry',
      `http://herald:${registryPassword}@127.0.0.1:1`,
    ]).then(
      () => assert.fail('herald schema list took a URL with credentials'),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.equal(cli.code, 2, cli.stderr);
    outputs.push(cli.stdout, cli.stderr);
    assertNoSecret(outputs, [registryPassword, token]);
  });
});
