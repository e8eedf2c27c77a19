import type { EventDefinition } from '../events/define.ts';
import type { BatchHandler, Handler } from './types.ts';

/** One of an event type's handlers: its name, and the inbox group its rows are kept under. */
export interface NamedHandler {
  /** null for the type's unnamed handler, whose inbox group is the consumer group itself. */
  name: string | null;
  inboxGroup: string;
  handler: Handler<unknown, unknown>;
}

/** Where a consumer sends one event type: its handlers, or its batch handler. */
export interface Route {
  definition: EventDefinition;
  /** The type's handlers, run in this order in one transaction, each with its own inbox row. */
  handlers?: NamedHandler[];
  batch?: { handler: BatchHandler<unknown, unknown>; size: number; maxWaitMs: number };
}

/** What becomes of a message: handled, skipped, or given up on (then the give-up path ran). */
export type Outcome = 'handled' | 'duplicate' | 'skipped' | 'failed';
