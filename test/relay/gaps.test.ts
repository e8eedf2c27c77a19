import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { createOutbox, defineEvent, listUnpublished } from '../../src/index.ts';
import { inTransaction } from '../support/env.ts';
import { readTopic } from '../support/kafka.ts';
import { type RelayFixture, startRelayFixture } from '../support/relay-fixture.ts';
import { waitFor } from '../support/relay-process.ts';
import { sources } from '../support/sources.ts';

for (const source of sources)
  describe(`gapless reads (source: ${source})`, () => {
    let fixture: RelayFixture;
    before(async () => {
      fixture = await startRelayFixture(3, source);
    });
    after(() => fixture.close());

    it('skips nothing when a transaction stays open while later ones commit', async () => {
      const { db, topic, relay } = fixture;
      const Written = defineEvent({
        type: 'gap.written',
        version: 1,
        destination: topic,
        schema: z.object({ writer: z.number(), n: z.number() }),
        key: (p) => `w${p.writer}`,
      });
      const outbox = createOutbox({ schema: db.schema });
      // The slow transaction takes its xid and writes first, then stays open.
      const slow = await db.pool.connect();
      await slow.query('BEGIN');
      await outbox.add(slow, Written({ writer: -1, n: 0 }));

      // Eight concurrent writers commit 50 transactions each meanwhile.
      const ids = new Set<string>();
      await Promise.all(
        Array.from({ length: 8 }, async (_, writer) => {
          for (let n = 0; n < 50; n++) {
            const added = await inTransaction(db.pool, (tx) => outbox.add(tx, Written({ writer, n })));
            for (const a of added) ids.add(a.id);
          }
        }),
      );
      if (source === 'polling') {
        // Later commits are held back, not published past the open transaction (that is what
        // makes the read gapless); the relay's position has not moved beyond it.
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(relay.stats().published, 0, 'nothing published past an open, older transaction');
      } else {
        // CDC publishes in commit order: the later commits go out while the older one is open.
        await waitFor('the committed ones published', () => relay.stats().published === ids.size);
      }

      await slow.query('COMMIT');
      slow.release();
      await waitFor('every event published', () => relay.stats().published === ids.size + 1);

      // And the cursors say so (for CDC, by a checkpoint past the slow transaction).
      await relay.drain();
      // A CDC checkpoint moves them only below the oldest transaction open in the whole server,
      // which another test's may be for a moment (the files run side by side).
      await waitFor(
        'the cursors past every event',
        async () => (await listUnpublished({ db: db.pool, schema: db.schema })).length === 0,
      );

      const messages = await readTopic(topic, ids.size + 1);
      const seen = new Set(messages.map((m) => m.headers.ce_id));
      for (const id of ids) assert.ok(seen.has(id), `event ${id} was skipped`);
      assert.equal(messages.length, ids.size + 1);
      assert.equal(JSON.parse(messages.find((m) => m.key === 'w-1')?.value ?? '{}').writer, -1, 'the slow one arrived');
      // Per key (writer), order is commit order.
      for (let writer = 0; writer < 8; writer++) {
        const ns = messages.filter((m) => m.key === `w${writer}`).map((m) => JSON.parse(m.value).n);
        assert.deepEqual(
          ns,
          Array.from({ length: 50 }, (_, i) => i),
        );
      }
    });
  });
