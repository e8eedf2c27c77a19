import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { z } from 'zod';
import { createOutbox, defineEvent, HeraldError, readStream } from '../../src/index.ts';
import { databaseUrl, freshSchema, inTransaction, type TestSchema } from '../support/env.ts';

const run = promisify(execFile);

const Moved = defineEvent({
  type: 'history.item.moved',
  version: 1,
  schema: z.object({ itemId: z.string(), to: z.string() }),
  key: (p) => `item-${p.itemId}`,
  aggregate: (p) => ({ type: 'item', id: p.itemId }),
});

describe('readStream: one entity’s history from the log', () => {
  let db: TestSchema;
  const written: string[] = [];
  before(async () => {
    db = await freshSchema();
    const outbox = createOutbox({ schema: db.schema });
    // Item a's moves spread over five transactions, interleaved with item b's.
    for (let i = 0; i < 5; i++) {
      const added = await inTransaction(db.pool, (tx) =>
        outbox.add(tx, [Moved({ itemId: 'a', to: `bin-${i}` }), Moved({ itemId: 'b', to: `bin-${i}` })]),
      );
      written.push(added[0]?.id as string);
    }
  });
  after(() => db.drop());

  it('reads an aggregate in the order written, page by page, and nothing of another', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await readStream(
        { aggregateType: 'item', aggregateId: 'a' },
        { db: db.pool, schema: db.schema, limit: 2, ...(after ? { after } : {}) },
      );
      pages++;
      for (const e of page.events) {
        assert.equal(e.aggregateId, 'a');
        seen.push(e.id);
      }
      after = page.next ?? undefined;
    } while (after);
    assert.deepEqual(seen, written);
    assert.equal(pages, 3, 'pages of 2, 2 and 1');
    const all = await readStream({ aggregateType: 'item', aggregateId: 'a' }, { db: db.pool, schema: db.schema });
    assert.deepEqual(
      all.events.map((e) => (e.payload as { to: string }).to),
      ['bin-0', 'bin-1', 'bin-2', 'bin-3', 'bin-4'],
    );
    assert.equal(all.next, null);
    assert.equal(all.events[0]?.type, 'history.item.moved');
    assert.ok(all.events[0]?.time instanceof Date);
  });

  it('reads by partition key too; an unknown entity has an empty history', async () => {
    const byKey = await readStream({ key: 'item-b' }, { db: db.pool, schema: db.schema });
    assert.equal(byKey.events.length, 5);
    assert.ok(byKey.events.every((e) => e.key === 'item-b'));
    const none = await readStream({ aggregateType: 'item', aggregateId: 'zzz' }, { db: db.pool, schema: db.schema });
    assert.deepEqual(none, { events: [], next: null });
  });

  it('refuses bad input with a typed error naming it', async () => {
    const bad = async (fn: () => Promise<unknown>, setting: string) => {
      const error = await fn().then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(error instanceof HeraldError, `${setting}: a HeraldError`);
      assert.equal(error.code, 'HERALD_INVALID_CONFIG');
      assert.equal((error.details as { setting?: string }).setting, setting);
    };
    const opts = { db: db.pool, schema: db.schema };
    await bad(
      () => readStream({ aggregateType: 'item', aggregateId: 'a' }, { ...opts, after: "1'; DROP TABLE x" }),
      'after',
    );
    await bad(() => readStream({ aggregateType: 'item', aggregateId: 'a' }, { ...opts, limit: 0 }), 'limit');
    await bad(() => readStream({ aggregateType: 'item' } as never, opts), 'aggregateId');
    await bad(() => readStream({ key: '' }, opts), 'key');
  });

  it('herald events prints the history and the position of the next page', async () => {
    const env = { ...process.env, DATABASE_URL: databaseUrl, HERALD_SCHEMA: db.schema };
    const first = await run(process.execPath, ['src/cli/main.ts', 'events', '--aggregate', 'item/a', '--limit', '3'], {
      env,
    });
    const lines = first.stdout.trim().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0] ?? '', /history\.item\.moved v1 .*"to":"bin-0"/);
    const next = /^more: --after (\d+:\d+)$/.exec(lines[3] ?? '')?.[1];
    assert.ok(next, lines[3]);
    const rest = await run(
      process.execPath,
      ['src/cli/main.ts', 'events', '--aggregate', 'item/a', '--after', next, '--json'],
      { env },
    );
    const json = rest.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      json.slice(0, -1).map((e) => e.id),
      written.slice(3),
    );
    assert.deepEqual(json.at(-1), { next: null });
    const wrong = await run(process.execPath, ['src/cli/main.ts', 'events', '--aggregate', 'item'], { env }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(wrong?.code, 2);
    assert.match(wrong?.stderr ?? '', /--aggregate <type>\/<id> or --key/);
  });
});
