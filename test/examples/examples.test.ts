import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

// The examples import the package by name ('herald' -> dist/), as users do; `npm test` builds
// dist first. They are the examples the docs show (test/project/docs.test.ts checks the text).
describe('examples', () => {
  it('quickstart: every committed event arrives, no rolled-back one', async () => {
    const { stdout } = await run(process.execPath, ['examples/quickstart/main.ts'], {
      env: { ...process.env, QUICKSTART_ORDERS: '200', HERALD_LOG_LEVEL: 'warn' },
    });
    assert.match(stdout, /events committed: +180/);
    assert.match(stdout, /events in Kafka: +180/);
    assert.match(stdout, /lost: 0, published after rollback: 0/);
  });

  it('events: writes one event and rejects an invalid payload with its issues', async () => {
    const { stdout } = await run(process.execPath, ['examples/events.ts']);
    assert.match(stdout, /wrote inventory\.stock\.reserved [0-9a-f-]{36}/);
    assert.match(stdout, /rejected: inventory\.stock\.reserved v1: reservationId: .*items: .*expiresAt: /);
  });

  it('testing: the in-memory transport example passes', async () => {
    // Without the runner's own marker, the nested `node --test` reports as a top-level run.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const { stdout } = await run(process.execPath, ['--test', 'examples/testing.ts'], { env });
    assert.match(stdout, /pass 2/);
    assert.match(stdout, /fail 0/);
  });

  it('consumer: handles an order once, skips its replayed copy', async () => {
    const { stdout } = await run(process.execPath, ['examples/consumer.ts']);
    assert.match(stdout, /handled 1, skipped 1 duplicate, available now 7/);
  });

  it('consumer throughput: group commit, two handlers, positions in the database and pipeline, each once (docs/consumers.md)', async () => {
    const { stdout } = await run(process.execPath, ['examples/consumer-throughput.ts']);
    assert.match(stdout, /^stock: moved 399 of 399, inbox rows 200$/m);
    assert.match(stdout, /^books: moved 399 of 399, inbox rows 400$/m);
    assert.match(stdout, /^stock-positions: moved 399 of 399, inbox rows 0$/m);
    assert.match(stdout, /^pipelined: moved 399 of 399, inbox rows 200$/m);
    assert.match(stdout, /^ledger rows 200$/m);
  });

  it('embedded: the whole path on PGlite and the PostgreSQL transport, no server', async () => {
    const { stdout } = await run(process.execPath, ['examples/embedded.ts'], {
      env: { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
    });
    assert.match(stdout, /invoiced o-1=4200 with no server/);
  });

  it('replay: plans with a dry run, then publishes the slice (the example docs/replay.md shows)', async () => {
    const { stdout } = await run(process.execPath, ['examples/replay.ts']);
    assert.match(stdout, /would publish 5 events: \{"billing\.payments":5\}/);
    assert.match(stdout, /replay [0-9a-f-]{36}: published 5 of 5 events/);
  });

  it('drain: lists the unpublished events, then publishes them and returns (docs/relay.md)', async () => {
    const { stdout } = await run(process.execPath, ['examples/drain.ts'], {
      env: { ...process.env, HERALD_LOG_LEVEL: 'error' },
    });
    assert.match(stdout, /unpublished: billing\.invoice\.issued inv-1, billing\.invoice\.issued inv-2/);
    assert.match(stdout, /published 2; unpublished now: 0/);
  });

  it("history: rebuilds an account's balance from its events, page by page (docs/history.md)", async () => {
    const { stdout } = await run(process.execPath, ['examples/history.ts']);
    assert.match(stdout, /acc-1: 4 events, balance 2625 cents/);
  });

  for (const broker of ['rabbitmq', 'nats', 'sqs', 'postgres']) {
    it(`transports: one event through the relay and a consumer on ${broker}`, async () => {
      const { stdout } = await run(process.execPath, ['examples/transports.ts', broker]);
      assert.match(stdout, new RegExp(`^${broker}: handled o-1$`, 'm'));
    });
  }

  it('operations: metrics, readiness and one trace from the request to the handler (docs/operations.md)', async () => {
    const { stdout } = await run(process.execPath, ['examples/operations.ts']);
    assert.match(stdout, /^readyz: 200$/m);
    assert.match(
      stdout,
      /^herald_relay_published_events_total\{transport="kafka",destination="payments",outcome="published"\} 1$/m,
    );
    assert.match(stdout, /^herald_consumer_processed_events_total\{group="ledger",outcome="handled"\} 1$/m);
    assert.match(
      stdout,
      /trace: create is a child of the request: true; send links to it: true; process links to it: true/,
    );
  });

  it('dashboard: the admin API mounted under /ops in a node:http server (docs/dashboard.md)', async () => {
    const { stdout } = await run(process.execPath, ['examples/dashboard.ts'], {
      env: { ...process.env, HERALD_ADMIN_TOKEN: 'example-admin-token', HERALD_READ_TOKEN: 'example-read-token' },
    });
    assert.match(stdout, /^status 200: healthy (true|false), \d+ events pending$/m);
    assert.match(stdout, /^dashboard: http:\/\/127\.0\.0\.1:\d+\/ops\/dashboard\/$/m);
  });

  it('dead letters: lists and retries through the API', async () => {
    const { stdout } = await run(process.execPath, ['examples/dead-letters.ts']);
    assert.match(stdout, /\d+ of \d+ published again/);
  });
});
