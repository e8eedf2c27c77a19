import type { Logger } from '../observe/logger.ts';
import { inContext } from '../observe/tracing.ts';
import { isLockConflict } from '../retry/classify.ts';
import type { Queryable } from '../store/db.ts';
import { readPosition } from '../store/sql/consumer-offsets.ts';
import type { IncomingMessage } from '../transports/transport.ts';
import { decodeMessage } from '../wire/incoming.ts';
import type { Handled, Item } from './claim.ts';
import type { GiveUp } from './dead-letter.ts';
import { GroupFailed, type Settled } from './group.ts';
import { Released } from './released.ts';
import type { Outcome, Route } from './route.ts';
import { upcastAndParse } from './upcast.ts';

/**
 * Runs of one key's consecutive messages (of one partition's, with offsets: 'database'), handled
 * through group commit: the messages that came while the key's last run was under way share a
 * transaction, one after another, and what cannot go as a run goes through the pipeline's one
 * message paths (`handle`, `handleItem`, `alone`), in its place.
 */
export function createRunHandler(deps: {
  groups: { add(item: Item): Promise<Settled<Handled>> } | null;
  /** Where a handled message is recorded: inbox rows, or the group's position ('database'). */
  offsets: 'broker' | 'database';
  routes: Map<string, Route>;
  pool: Queryable;
  schema: string;
  group: string;
  logger: Logger;
  count: (outcome: Outcome, n?: number) => void;
  /** One message, decoded here (the one-message path of the pipeline). */
  handle: (m: IncomingMessage, giveUp: GiveUp) => Promise<Outcome>;
  /** One item in a group, or alone if the group did not settle it. */
  handleItem: (item: Item, giveUp: GiveUp) => Promise<Outcome>;
  /** One item in a transaction of its own, retried. */
  alone: (item: Item, giveUp: GiveUp, failedFirst?: { error: unknown }) => Promise<Outcome>;
}) {
  const { groups, pool, schema, group, logger, count, handle, handleItem, alone } = deps;
  const byPosition = deps.offsets === 'database';

  /** An ordinary message made an item of a run (decoded, routed, upcast); null for anything else. */
  async function runnable(m: IncomingMessage, active: unknown): Promise<Item | null> {
    try {
      const event = decodeMessage(m);
      const route = deps.routes.get(event.type);
      if (!route || route.batch) return null;
      const parsed = upcastAndParse(event, route.definition);
      const typed = parsed instanceof Promise ? await parsed : parsed;
      return { route, event: typed, message: m, byPosition, active };
    } catch {
      return null;
    }
  }

  /**
   * A run of one key's consecutive messages: their handlers in one transaction of a group, one
   * after another, with their inbox rows (each message's duplicate skipped alone) or the position
   * moved past the last. In order:
   * - a message that is not ordinary (it does not decode, its type has no handler or a batch
   *   handler) goes as `handle` takes one, between the runs before and after it;
   * - by position, an offset not above the one before (a copy fetched again) starts a new run;
   * - a run whose handler threw goes as a run up to it, it alone (its try in the run counted),
   *   then the rest as a run;
   * - by position, a position already inside the run (a second delivery) skips what is below it,
   *   runs the rest.
   * Message k is handled in the trace context `contexts[k]`, and `settled(k, outcome)` hears its
   * outcome as soon as it is known (in order). Throws Unfinished with how many messages were done
   * when one could be neither handled nor given up on (or at a stop).
   */
  async function handleRun(
    ms: IncomingMessage[],
    giveUp: GiveUp,
    contexts: readonly unknown[],
    settled: (k: number, outcome: Outcome) => void,
  ): Promise<Outcome[]> {
    const list: Outcome[] = [];
    const out: Outcomes = {
      list,
      add(outcome) {
        settled(list.length, outcome);
        list.push(outcome);
      },
    };
    try {
      let run: Item[] = [];
      for (const [k, m] of ms.entries()) {
        const item = groups && ms.length > 1 ? await runnable(m, contexts[k]) : null;
        if (item) {
          // Offsets go up within a run: a partition fetched again (a rebalance, a new subscription)
          // brings copies of earlier ones after later ones, and those start a run of their own.
          const last = run.at(-1);
          if (byPosition && last && BigInt(m.offset) <= BigInt(last.message.offset)) {
            await runItems(run, giveUp, out);
            run = [];
          }
          run.push(item);
          continue;
        }
        await runItems(run, giveUp, out);
        run = [];
        out.add(await inContext(contexts[k], () => handle(m, giveUp)));
      }
      await runItems(run, giveUp, out);
      return list;
    } catch (error) {
      throw new Unfinished(list.length, error);
    }
  }

  /** Items of one key, in order, as a run in a group (see handleRun); outcomes onto `out`. */
  async function runItems(items: Item[], giveUp: GiveUp, out: Outcomes): Promise<void> {
    if (items.length === 0) return;
    if (items.length === 1) {
      const only = items[0] as Item;
      out.add(await inContext(only.active, () => handleItem(only, giveUp)));
      return;
    }
    let failed: RunFailed | null = null;
    let passed = false;
    try {
      const settled = await (groups as NonNullable<typeof groups>).add({ ...(items[0] as Item), rest: items.slice(1) });
      if (settled.ok && Array.isArray(settled.value)) {
        for (const outcome of settled.value) {
          count(outcome);
          out.add(outcome);
        }
        return;
      }
      // Claimed by none: with the inbox every message was a duplicate; by position, see below.
      if (settled.ok && !byPosition) {
        count('duplicate', items.length);
        for (const _ of items) out.add('duplicate');
        return;
      }
      passed = settled.ok;
      if (!settled.ok && settled.error instanceof Released) throw settled.error;
      if (!settled.ok && settled.error instanceof RunFailed) failed = settled.error;
    } catch (error) {
      if (!(error instanceof GroupFailed)) throw error;
      logger.debug({ error: error.cause }, 'group commit failed; handling its run message by message');
    }
    const below = passed ? await belowPosition(items) : 0;
    if (below > 0) {
      // The stored position had passed the run's first message (a second delivery): what is
      // below it was handled, and committed; the rest goes on as a run.
      count('duplicate', below);
      for (let i = 0; i < below; i++) out.add('duplicate');
      return runItems(items.slice(below), giveUp, out);
    }
    if (!failed) {
      // The group failed as a whole (or the position could not be read): one message at a time.
      for (const item of items) out.add(await inContext(item.active, () => alone(item, giveUp)));
      return;
    }
    // The messages before the one that threw ran well: a run again. The one that threw goes alone,
    // its try in the run counted (a lock conflict is the group's doing: not counted), then the rest.
    const { index, cause } = failed;
    const thrower = items[index] as Item;
    const first = isLockConflict(cause) ? undefined : { error: cause };
    await runItems(items.slice(0, index), giveUp, out);
    out.add(await inContext(thrower.active, () => alone(thrower, giveUp, first)));
    await runItems(items.slice(index + 1), giveUp, out);
  }

  /** How many of a run's first messages the committed position has passed; 0 if it cannot be read. */
  async function belowPosition(items: Item[]): Promise<number> {
    let stored: bigint | null;
    try {
      stored = await readPosition(pool, schema, group, (items[0] as Item).message);
    } catch (error) {
      logger.debug({ error }, 'position not read; handling the run message by message');
      return 0;
    }
    const from = items.findIndex((i) => stored === null || BigInt(i.message.offset) >= stored);
    return from === -1 ? items.length : from;
  }

  return { handleRun };
}

/** A run's outcomes so far, in order; `add` tells the observer of each as it comes. */
type Outcomes = { list: Outcome[]; add(outcome: Outcome): void };

/** A run's handler threw: the message at `index` of the run, with its error as the cause. */
export class RunFailed extends Error {
  readonly index: number;
  constructor(index: number, cause: unknown) {
    super(`handler failed at message ${index} of a run`, { cause });
    this.name = 'RunFailed';
    this.index = index;
  }
}

/** A run of messages (handleRun) stopped at message `finished`: those before it are done. */
export class Unfinished extends Error {
  readonly finished: number;
  constructor(finished: number, cause: unknown) {
    super(`a run stopped after ${finished} messages`, { cause });
    this.name = 'Unfinished';
    this.finished = finished;
  }
}
