#!/usr/bin/env node
// `npm test`: services up, then Node's own test runner over test/**/*.test.ts on real
// PostgreSQL and Kafka. Extra arguments go to `node --test` (e.g. a single file).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [major] = process.versions.node.split('.').map(Number);
if ((major ?? 0) < 22) {
  console.error(
    `npm test needs Node >= 22 (this is ${process.version}); run it through npm so that node_modules/.bin/node (Node 24) comes first.`,
  );
  process.exit(1);
}
const files = process.argv.slice(2);
// Two files at a time: every file has its own schema, topics and groups, and what stops or restarts
// a service does it to a private instance (test/support/private.ts). On the 2-core machines of
// docs/benchmarks.md the whole run took 870 s one file at a time and 585 s two at a time.
const concurrency = process.env.HERALD_TEST_CONCURRENCY ?? '2';
if (!/^[1-9][0-9]?$/.test(concurrency)) {
  console.error(`HERALD_TEST_CONCURRENCY must be a number of test files, 1-99 (was ${JSON.stringify(concurrency)})`);
  process.exit(2);
}
const args = [
  'scripts/with-infra.mjs',
  'node',
  '--test',
  `--test-concurrency=${concurrency}`,
  '--test-timeout=240000',
  // A file that leaves a relay, consumer, pool or connection open fails (test/support/leak-guard.ts).
  '--import=./test/support/leak-guard.ts',
  ...(files.length > 0 ? files : ['test/**/*.test.ts']),
];
// Herald's factories log at info by default (JSON lines on stderr); the tests' output keeps errors
// only, unless HERALD_LOG_LEVEL says otherwise.
// Node's compile cache (the parsed and stripped modules, on disk) serves every test file's process
// and the processes they start: about 0.4 s less per process that loads Herald and its clients.
const env = {
  ...process.env,
  HERALD_LOG_LEVEL: process.env.HERALD_LOG_LEVEL ?? 'error',
  NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? `${root}.cache/node-compile`,
};
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
process.exit(result.status ?? 1);
