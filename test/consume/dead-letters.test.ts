import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createConsumerDeadLetters } from '../../src/index.ts';
import {
  claimRetries,
  insertConsumerDeadLetter,
  resolveConsumerDeadLetter,
} from '../../src/store/sql/consumer-dead-letters.ts';
import { freshSchema, type TestSchema } from '../support/env.ts';

describe('consumer dead letters: marking, claiming and resolving', () => {
  let db: TestSchema;
  before(async () => {
    db = await freshSchema();
  });
  after(() => db.drop());

  const letter = (id: string, offset: string, body = '{}') => ({
    group: 'g',
    messageId: id,
    eventType: 't',
    topic: 'orders',
    partition: 0,
    offset,
    key: 'k',
    headers: { ce_id: id },
    body: Buffer.from(body),
    error: { code: 'HERALD_HANDLER_FAILED', message: 'boom' },
    attempts: 1,
  });

  it('retry and discard honour the limit; one member claims a retry at a time; a discard is never overwritten', async () => {
    for (let i = 0; i < 5; i++) await insertConsumerDeadLetter(db.pool, db.schema, letter(`m${i}`, String(i)));
    const api = createConsumerDeadLetters({ db: db.pool, schema: db.schema });
    assert.equal(await api.retry({ groups: ['g'], types: ['t'], limit: 3 }), 3);
    assert.equal((await api.list({ groups: ['g'], status: 'retrying' })).length, 3);

    const first = await claimRetries(db.pool, db.schema, 'g', 10, 60_000);
    const second = await claimRetries(db.pool, db.schema, 'g', 10, 60_000);
    assert.equal(first.length, 3);
    assert.equal(second.length, 0, 'claimed rows are left to their member');

    const [a, b] = first;
    assert.ok(a && b);
    await api.discard({ groups: ['g'], ids: [a.message_id], status: 'retrying' });
    await resolveConsumerDeadLetter(db.pool, db.schema, 'g', a.message_id, { retried: true });
    assert.equal((await api.get('g', a.message_id))?.status, 'discarded', 'a late result does not undo a discard');
    await resolveConsumerDeadLetter(db.pool, db.schema, 'g', b.message_id, { retryError: 'again', attempts: 2 });
    const again = await api.get('g', b.message_id);
    assert.equal(again?.status, 'pending');
    assert.equal(again?.retryError, 'again');
    assert.equal(again?.attempts, 3);

    // Failing again from a new delivery refreshes what is stored and clears the old retry error.
    await insertConsumerDeadLetter(db.pool, db.schema, { ...letter(b.message_id, '42', '{"v":2}'), attempts: 5 });
    const refreshed = await api.get('g', b.message_id);
    assert.equal(refreshed?.offset, '42');
    assert.equal(refreshed?.body, '{"v":2}');
    assert.equal(refreshed?.retryError, null);
    assert.equal(refreshed?.attempts, 8);
    await api.close();
  });
});
