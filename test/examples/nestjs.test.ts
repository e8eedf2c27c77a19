import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

// examples/nestjs/main.ts, the service docs/nestjs.md shows: HeraldModule with Drizzle and
// @nestjs-cls/transactional, the relay and a @HandleEvent consumer started and stopped with the
// application (the process exits only if app.close() stopped them).
describe('NestJS example', () => {
  it('a placed order is shipped once; a refused one leaves no order and no event', async () => {
    const { stdout } = await run(process.execPath, ['examples/nestjs/main.ts'], {
      env: { ...process.env, HERALD_LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });
    assert.match(stdout, /^o-2 refused: over the credit limit$/m);
    assert.match(stdout, /^nestjs: orders 1, events 1, shipments 1$/m);
  });
});
