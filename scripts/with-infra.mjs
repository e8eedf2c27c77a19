#!/usr/bin/env node
// Brings up the services Herald needs (infra/up.mjs, idempotent), then runs the given command
// with DATABASE_URL and KAFKA_BROKERS defaulted to them. Used by `npm test`, `npm run bench`
// and `npm start`, so each works on a fresh machine with nothing started by hand.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/with-infra.mjs <command> [args...]');
  process.exit(2);
}
// Examples import the package by its name ('herald'), which resolves to dist/: build it first.
const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(build.status ?? 1);
// Status lines go to stderr, so that a command's stdout (e.g. `bench --json`) stays its own.
const up = spawnSync(process.execPath, ['infra/up.mjs'], { cwd: root, stdio: ['ignore', 2, 2] });
if (up.status !== 0) process.exit(up.status ?? 1);

const env = {
  ...process.env,
  DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
};
const child = spawnSync(command === 'node' ? process.execPath : command, args, { cwd: root, stdio: 'inherit', env });
process.exit(child.status ?? 1);
