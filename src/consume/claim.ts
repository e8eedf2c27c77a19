import type { Queryable } from '../store/db.ts';
import { claimPositions, type PositionRun, positionKey, unclaimPosition } from '../store/sql/consumer-offsets.ts';
import { claimInbox, claimInboxRows, type InboxRow, inboxKey, unclaimInboxRows } from '../store/sql/inbox.ts';
import type { IncomingMessage } from '../transports/transport.ts';
import { type ConsumedEvent, eventTime } from '../wire/incoming.ts';
import type { NamedHandler, Outcome, Route } from './route.ts';

/**
 * One event on its way to its handlers; `byPosition`: its claim is the group's stored position.
 * `rest`: the next messages of its key (of its partition with offsets: 'database'), handled after
 * it in the same transaction, one after another, claimed and failing with it as one run. `active`:
 * the trace context its handlers run in (its `process` span), when tracing is on.
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

/** What an item's handling came to: one outcome, or for a run one per message, in order. */
export type Handled = Outcome | Outcome[];

/** Which of an event's handlers may run: those whose inbox rows were new. */
export type Fresh = (h: NamedHandler) => boolean;

/**
 * Which of the item's handlers may run, and how to take the claim back (its savepoint rolled
 * back). `each`, for a run with the inbox: per message of the run, which may run (null: none, a
 * duplicate); without it every message of a run runs.
 */
export type Claimed = { runs: Fresh; unclaim: () => Promise<void>; each?: (Fresh | null)[] };

const inboxRows = (route: Route, event: ConsumedEvent): InboxRow[] =>
  (route.handlers ?? []).map((h) => ({
    group: h.inboxGroup,
    eventId: event.id,
    eventTime: eventTime(event),
    type: event.type,
  }));

/** The messages of a claimed item (a run) whose handlers run: those the inbox had not seen. */
export const freshMessages = (item: Item, claimed: Claimed): number =>
  claimed.each ? claimed.each.filter((fresh) => fresh !== null).length : 1 + (item.rest?.length ?? 0);

/** `runs` of an event whose inbox rows were all new: every handler. */
export const everyHandler = () => true;

/**
 * What makes a second delivery a no-op: each handler's inbox row, or (offsets: 'database') the
 * group's stored position in the message's partition, moved past it (past its run's last). The
 * claim runs in the handlers' transaction, for all the items at once (a run's messages
 * included), and says per item which handlers may run (null: none, a duplicate; for a run by
 * position, not all of it new; for a run with the inbox, none of it new).
 */
export function createClaim(deps: { schema: string; group: string; prepared: boolean }) {
  const { schema, group, prepared } = deps;
  return async function claim(tx: Queryable, items: readonly Item[]): Promise<(Claimed | null)[]> {
    // Per item, the inbox rows of each of its messages (one, or a run's).
    const rows = items.map((i) =>
      i.byPosition
        ? []
        : i.rest
          ? [i, ...i.rest].map((m) => inboxRows(m.route, m.event))
          : [inboxRows(i.route, i.event)],
    );
    const all = rows.flat(2);
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
    /** One event's rows that were new (the same event twice in one claim: its rows go to the first copy). */
    const take = (own: InboxRow[]): { runs: Fresh; mine: InboxRow[] } | null => {
      const mine = own.filter((r) => fresh.delete(inboxKey(r.group, r.eventId)));
      if (mine.length === 0) return null;
      // Every row new (the common case): every handler runs, no set to ask.
      if (mine.length === own.length) return { runs: everyHandler, mine };
      const ran = new Set(mine.map((r) => r.group));
      return { runs: (h) => ran.has(h.inboxGroup), mine };
    };
    return items.map((item, k) => {
      if (item.byPosition) {
        if (!moved.has(positionKey(item.message))) return null;
        return { runs: everyHandler, unclaim: () => unclaimPosition(tx, schema, group, runOf(item)) };
      }
      const own = rows[k] as InboxRow[][];
      if (!item.rest) {
        const taken = take(own[0] as InboxRow[]);
        return taken && { runs: taken.runs, unclaim: () => unclaimInboxRows(tx, schema, taken.mine) };
      }
      const each = own.map(take);
      const mine = each.flatMap((e) => e?.mine ?? []);
      if (mine.length === 0) return null;
      return {
        runs: everyHandler,
        unclaim: () => unclaimInboxRows(tx, schema, mine),
        each: each.map((e) => e?.runs ?? null),
      };
    });
  };
}
