import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { migrate } from '../../src/index.ts';
import { loadMigrations } from '../../src/store/migrate.ts';
import { databaseUrl, uniqueName } from '../support/env.ts';

const run = promisify(execFile);
const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
const schemas: string[] = [];

function schemaName(): string {
  const s = uniqueName('herald_m');
  schemas.push(s);
  return s;
}

describe('herald migrate', () => {
  after(async () => {
    for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await pool.end();
  });

  it('applies every migration once even when five migrators race', async () => {
    const schema = schemaName();
    const results = await Promise.all(Array.from({ length: 5 }, () => migrate(pool, { schema })));
    const all = await loadMigrations();
    assert.equal(results.flatMap((r) => r.applied).length, all.length, 'each migration applied by exactly one');
    const ledger = await pool.query(`SELECT id FROM "${schema}".migrations ORDER BY id`);
    assert.deepEqual(
      ledger.rows.map((r) => r.id),
      all.map((m) => m.id),
    );
    const again = await migrate(pool, { schema });
    assert.equal(again.applied.length, 0);
  });

  it('--dry-run prints the SQL and changes nothing', async () => {
    const schema = schemaName();
    const { stdout } = await run(process.execPath, ['src/cli/main.ts', 'migrate', '--dry-run', '--schema', schema], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
    });
    assert.match(stdout, /-- 0001_log/);
    assert.match(stdout, new RegExp(`CREATE TABLE "${schema}".log`));
    const exists = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    assert.equal(exists.rows.length, 0);
  });

  it('the CLI applies, then reports up to date', async () => {
    const schema = schemaName();
    const env = { ...process.env, DATABASE_URL: databaseUrl, HERALD_SCHEMA: schema };
    const first = await run(process.execPath, ['src/cli/main.ts', 'migrate'], { env });
    assert.match(first.stdout, /applied 0001_log/);
    const second = await run(process.execPath, ['src/cli/main.ts', 'migrate'], { env });
    assert.match(second.stdout, /is up to date/);
  });

  it('a database that is down gives a clear error and exit code 1', async () => {
    const error = await run(process.execPath, ['src/cli/main.ts', 'migrate'], {
      env: { ...process.env, DATABASE_URL: 'postgres://herald:s3cret@127.0.0.1:1/nowhere' },
    }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((error as { code: number }).code, 1);
    const stderr = (error as { stderr: string }).stderr;
    assert.match(stderr, /HERALD_DATABASE_UNAVAILABLE: cannot reach PostgreSQL at 127\.0\.0\.1:1/);
    assert.doesNotMatch(stderr, /s3cret/);
  });

  it('--shards sets the shard count before the first event, and refuses after', async () => {
    const schema = schemaName();
    const env = { ...process.env, DATABASE_URL: databaseUrl, HERALD_SCHEMA: schema };
    const set = await run(process.execPath, ['src/cli/main.ts', 'migrate', '--shards', '16'], { env });
    assert.match(set.stdout, /has 16 shards/);
    const count = await pool.query(`SELECT shard_count FROM "${schema}".settings`);
    assert.equal(count.rows[0].shard_count, 16);
    await pool.query(
      `INSERT INTO "${schema}".log (id, type, version, source, partition_key, shard, payload) VALUES (gen_random_uuid(), 't', 1, '/s', 'k', 0, '{}')`,
    );
    const refused = await run(process.execPath, ['src/cli/main.ts', 'migrate', '--shards', '32'], { env }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal((refused as { code: number }).code, 2);
    assert.match((refused as { stderr: string }).stderr, /already has 16 shards/);
  });

  it('herald migrate status: pending, applied, a file changed after it was applied; exit 1 until up to date', async () => {
    const schema = schemaName();
    const env = { ...process.env, DATABASE_URL: databaseUrl, HERALD_SCHEMA: schema };
    const status = () =>
      run(process.execPath, ['src/cli/main.ts', 'migrate', 'status', '--json'], { env }).then(
        (r) => ({ code: 0, body: JSON.parse(r.stdout) }),
        (e: { code: number; stdout: string }) => ({ code: e.code, body: JSON.parse(e.stdout) }),
      );
    const all = await loadMigrations();
    const fresh = await status();
    assert.equal(fresh.code, 1, 'nothing applied: not up to date');
    assert.equal(fresh.body.pending.length, all.length);

    await migrate(pool, { schema, to: 3 });
    const partly = await status();
    assert.equal(partly.code, 1);
    assert.deepEqual(
      partly.body.applied.map((a: { id: number; file: string }) => [a.id, a.file]),
      [
        [1, 'ok'],
        [2, 'ok'],
        [3, 'ok'],
      ],
    );
    assert.equal(partly.body.pending[0].id, 4);

    await migrate(pool, { schema });
    const done = await status();
    assert.equal(done.code, 0);
    assert.equal(done.body.upToDate, true);

    // The ledger says 0002 was applied from other text than the file now has.
    await pool.query(`UPDATE "${schema}".migrations SET checksum = 'edited' WHERE id = 2`);
    await pool.query(`UPDATE "${schema}".migrations SET checksum = NULL WHERE id = 1`);
    const drift = await status();
    assert.equal(drift.code, 1);
    const files = Object.fromEntries(drift.body.applied.map((a: { id: number; file: string }) => [a.id, a.file]));
    assert.equal(files[1], 'unknown');
    assert.equal(files[2], 'changed');
    const text = await run(process.execPath, ['src/cli/main.ts', 'migrate', 'status'], { env }).then(
      () => '',
      (e: { stdout: string }) => e.stdout,
    );
    assert.match(text, /applied {2}0002_dead_letters .*FILE CHANGED since applied/);

    const wrong = await run(process.execPath, ['src/cli/main.ts', 'migrate', 'stats'], { env }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(wrong?.code, 2);
    assert.match(wrong?.stderr ?? '', /takes no arguments but "status"/);
  });
});
