import type { Queryable } from '../store/db.ts';
import { claimPositions, type PositionRun, positionKey, unclaimPosition } from '../store/sql/consumer-offsets.ts';
import { claimInbox, claimInboxRows, type InboxRow, inboxKey, unclaimInboxRows } from '../store/sql/inbox.ts';
import type { IncomingMessage } from '../transports/transport.ts';
import { type ConsumedEvent, eventTime } from '../wire/incoming.ts';
import type { NamedHandler, Route } from './route.ts';

/**
 * One event on its way to its handlers; `byPosition`: its claim is the group's stored position.
 * `rest`: the partition's next messages (offsets: 'database'), handled after it in the same
 * transaction, one after another, claimed and failing with it as one run. `active`: the trace
 * context its handlers run in (its `process` span), when tracing is on.
 */
export type Item = {
  route: Route;
  event: ConsumedEvent;
  message: IncomingMessage;
  byPosition: boolean;
  rest?: Item[];
  active?: unknown;
};

/** The stored-position claim of an item and the run it heads. */
export const runOf = (item: Item): PositionRun => {
  const last = item.rest?.at(-1) ?? item;
  const { topic, partition, offset } = item.message;
  return { topic, partition, first: offset, last: last.message.offset };
};

/** Which of the item's handlers may run, and how to take the claim back (its savepoint rolled back). */
export type Claimed = { runs: (h: NamedHandler) => boolean; unclaim: () => Promise<void> };

const inboxRows = (route: Route, event: ConsumedEvent): InboxRow[] =>
  (route.handlers ?? []).map((h) => ({
    group: h.inboxGroup,
    eventId: event.id,
    eventTime: eventTime(event),
    type: event.type,
  }));

/** `runs` of an event whose inbox rows were all new: every handler. */
export const everyHandler = () => true;

/**
 * What makes a second delivery a no-op: each handler's inbox row, or (offsets: 'database') the
 * group's stored position in the message's partition, moved past it (past its run's last). The
 * claim runs in the handlers' transaction, for all the items at once, and says per item which
 * handlers may run (null: none, a duplicate; for a run, not all of it new).
 */
export function createClaim(deps: { schema: string; group: string; prepared: boolean }) {
  const { schema, group, prepared } = deps;
  return async function claim(tx: Queryable, items: readonly Item[]): Promise<(Claimed | null)[]> {
    const rows = items.map((i) => (i.byPosition ? [] : inboxRows(i.route, i.event)));
    const all = rows.flat();
    const first = all[0] as InboxRow;
    const fresh =
      all.length === 1
        ? new Set(
            [...(await claimInbox(tx, schema, first.group, all, prepared))].map((id) => inboxKey(first.group, id)),
          )
        : all.length > 0
          ? await claimInboxRows(tx, schema, all, prepared)
          : new Set<string>();
    const placed = items.filter((i) => i.byPosition).map(runOf);
    const moved = placed.length > 0 ? await claimPositions(tx, schema, group, placed, prepared) : new Set();
    return items.map((item, k) => {
      if (item.byPosition) {
        if (!moved.has(positionKey(item.message))) return null;
        return { runs: everyHandler, unclaim: () => unclaimPosition(tx, schema, group, runOf(item)) };
      }
      // The same event twice in one group: its rows were claimed once, for the first copy.
      const own = rows[k] as InboxRow[];
      const mine = own.filter((r) => fresh.delete(inboxKey(r.group, r.eventId)));
      if (mine.length === 0) return null;
      const unclaim = () => unclaimInboxRows(tx, schema, mine);
      // Every row new (the common case): every handler runs, no set to ask.
      if (mine.length === own.length) return { runs: everyHandler, unclaim };
      const ran = new Set(mine.map((r) => r.group));
      return { runs: (h) => ran.has(h.inboxGroup), unclaim };
    });
  };
}
