import type { Logger } from '../observe/logger.ts';
import { orAborted } from '../retry/abortable.ts';
import type { Queryable } from '../store/db.ts';
import { readRange } from '../store/sql/read-range.ts';
import { beginRebuild, saveRebuild } from '../store/sql/rebuilds.ts';
import type { Delivery } from '../transports/transport.ts';
import { toMessage } from '../wire/outgoing.ts';
import type { TopicStrategy } from '../wire/topics.ts';

/** Events read from history per page; the position is saved after each page is handled. */
const pageSize = 500;
const beginning = new Date(0);
const end = new Date('9999-12-31T00:00:00Z');

/**
 * A new group's rebuild (`from: 'history'`): every event of its handled types (whatever topic the
 * relay sent it to, whose strategy the consumer does not know) read from the log and the archive
 * in the order written, up to the horizon taken when it began, and handed to `dispatch` like
 * deliveries from the broker: the same handlers, order per key, retries and dead letters, and
 * the group's inbox, so the broker's copies of these events (read next, from the earliest) are
 * skipped. An event committed after the horizon is not in the slice: the broker brings it. The
 * position is saved after each page; a stopped rebuild resumes there, a complete one is skipped.
 */
export async function rebuildFromHistory(deps: {
  db: Queryable;
  schema: string;
  group: string;
  types: string[];
  topicFor: TopicStrategy;
  dispatch: (delivery: Delivery) => void;
  waitForRoom: () => Promise<void>;
  /** Resolves when everything dispatched has been handled (or given up on). */
  idle: () => Promise<void>;
  signal: AbortSignal;
  logger: Logger;
}): Promise<void> {
  const { db, schema, group, logger, signal } = deps;
  const state = await beginRebuild(db, schema, group);
  if (state.complete) return;
  logger.info(
    { group, events: state.events, resumed: state.events > 0 },
    'rebuilding from history before reading the broker',
  );
  const filter = { horizon: state.horizon, from: beginning, to: end, types: deps.types };
  let position = state.position;
  let total = state.events;
  let offset = 0;
  for (;;) {
    const rows = await readRange(db, schema, filter, position, pageSize);
    let handled = 0;
    for (const row of rows) {
      if (signal.aborted) break;
      const message = toMessage(row, deps.topicFor);
      deps.dispatch({
        topic: message.topic,
        // Not a broker partition: history is one ordered stream, acknowledged by the page.
        partition: -1,
        offset: String(offset++),
        key: message.key,
        value: message.value,
        headers: message.headers,
        ack: async () => {},
      });
      handled++;
      await orAborted(deps.waitForRoom(), signal);
    }
    await deps.idle();
    if (signal.aborted) return; // the page's position is not saved: it is read again, the inbox skips what was done
    const last = rows[rows.length - 1];
    const done = rows.length < pageSize;
    if (last) position = { xid: last.xid, seq: last.seq };
    total += handled;
    await saveRebuild(db, schema, group, position, handled, done);
    if (done) break;
  }
  logger.info({ group, events: total }, 'rebuilt from history; reading the broker');
}
