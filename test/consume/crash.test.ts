import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { assertEffectsInKeyOrder, consumerFixture, eventMessage } from '../support/consumer.ts';
import { brokers, databaseUrl, uniqueName } from '../support/env.ts';
import { createTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

function spawnConsumer(env: Record<string, string>) {
  const child = spawn(process.execPath, ['test/support/consumer-child.ts'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, KAFKA_BROKERS: brokers.join(','), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('consumers: a crash between the handler commit and the offset commit', () => {
  const fixture = consumerFixture();
  const { transport } = fixture;

  for (const [offsets, pipeline] of [
    ['broker', false],
    ['database', false],
    ['broker', true],
    ['database', true],
  ] as const) {
    it(`loses nothing and applies nothing twice after SIGKILL and restart (offsets: ${offsets}${pipeline ? ', group commit with pipeline' : ''})`, async () => {
      await fixture.db.pool.query(`TRUNCATE ${fixture.effects}`);
      const topic = await createTopic(3);
      const total = 2000;
      const messages = Array.from({ length: total }, (_, i) => {
        const key = `key-${i % 100}`;
        return eventMessage(topic, 'order.step', { key, seq: Math.floor(i / 100) }, { key });
      });
      await transport.publish(messages);
      const group = uniqueName('g');
      const env = {
        HERALD_SCHEMA: fixture.db.schema,
        CHILD_TOPIC: topic,
        CHILD_GROUP: group,
        CHILD_OFFSETS: offsets,
        CHILD_PIPELINE: pipeline ? '1' : '0',
      };
      const count = async () =>
        Number((await fixture.db.pool.query(`SELECT count(*) AS n FROM ${fixture.effects}`)).rows[0].n);

      const first = spawnConsumer({ ...env, CHILD_KILL_AFTER: '500' });
      const killed = await first.exited;
      assert.equal(killed.signal, 'SIGKILL', `the first consumer killed itself: ${first.stderr()}`);
      const before = await count();
      assert.ok(before >= 500 && before < total, `${before} effects before the restart`);

      const second = spawnConsumer(env);
      try {
        await waitFor('every effect', async () => (await count()) >= total, 90_000);
      } finally {
        second.child.kill('SIGTERM');
      }
      const stopped = await second.exited;
      assert.equal(stopped.code, 0, second.stderr());
      const stats = JSON.parse(second.stdout().trim().split('\n').pop() as string);
      assert.ok(stats.duplicates > 0, 'events handled before the crash were delivered again and skipped');

      const rows = await fixture.db.pool.query<{ n: string; distinct: string }>(
        `SELECT count(*) AS n, count(DISTINCT event_id) AS distinct FROM ${fixture.effects}`,
      );
      assert.equal(Number(rows.rows[0]?.n), total, 'one effect per event');
      assert.equal(Number(rows.rows[0]?.distinct), total);
      await assertEffectsInKeyOrder(fixture);
      const stored = async (table: string) =>
        Number(
          (
            await fixture.db.pool.query(
              `SELECT count(*) AS n FROM "${fixture.db.schema}".${table} WHERE consumer_group = $1`,
              [group],
            )
          ).rows[0].n,
        );
      if (offsets === 'database') {
        assert.equal(await stored('inbox'), 0, 'no inbox rows: the positions alone kept it once');
        const positions = await fixture.db.pool.query(
          `SELECT partition, next_offset::int AS next FROM "${fixture.db.schema}".consumer_offsets WHERE consumer_group = $1 ORDER BY partition`,
          [group],
        );
        assert.equal(positions.rowCount, 3, 'a position per partition');
        assert.equal(
          positions.rows.reduce((sum, r) => sum + r.next, 0),
          total,
          'each partition stands after its last message',
        );
      } else {
        assert.equal(await stored('inbox'), total);
      }
    });
  }
});
