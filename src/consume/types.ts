import type { OutboxEvent } from '../events/define.ts';
import type { Logger } from '../observe/logger.ts';
import type { AddedEvent } from '../outbox/outbox.ts';
import type { ClientDatabase } from '../store/clients/index.ts';
import type { PoolLike } from '../store/connect.ts';
import type { Queryable } from '../store/db.ts';
import type { ConsumedEvent } from '../wire/incoming.ts';

export interface MessageInfo {
  topic: string;
  partition: number;
  offset: string;
}

export interface HandlerContext<Tx = Queryable> {
  /**
   * The transaction the inbox row is written in, your client's own (a PoolClient, a Kysely
   * Transaction, a Prisma transaction client…): write the handler's effects with it.
   */
  tx: Tx;
  /**
   * Writes events to the outbox in `tx`. They carry the consumed event's correlation id (or its id
   * when it had none) and trace context, and its id as their causation id, unless set.
   */
  emit(events: OutboxEvent | readonly OutboxEvent[]): Promise<AddedEvent[]>;
  /** 1 on the first try; more when the handler is being retried. */
  attempt: number;
  group: string;
  message: MessageInfo;
}

export interface BatchContext<Tx = Queryable> extends Omit<HandlerContext<Tx>, 'emit' | 'message'> {
  /** As HandlerContext.emit, with the consumed event that caused these ones. */
  emit(causedBy: ConsumedEvent, events: OutboxEvent | readonly OutboxEvent[]): Promise<AddedEvent[]>;
}

export type Handler<P, Tx = Queryable> = (event: ConsumedEvent<P>, context: HandlerContext<Tx>) => Promise<void> | void;
export type BatchHandler<P, Tx = Queryable> = (
  events: ConsumedEvent<P>[],
  context: BatchContext<Tx>,
) => Promise<void> | void;

/**
 * Thrown by a handler for a message that will never succeed (a business rule says no, a
 * reference is missing for good): the message goes to dead letters at once, with no retries.
 */
export class NonRetriableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetriableError';
  }
}

export interface ConsumerStats {
  state: 'idle' | 'running' | 'retrying' | 'stopping' | 'stopped';
  /** Events whose handler committed. */
  handled: number;
  /** Deliveries skipped because the inbox already held the event. */
  duplicates: number;
  /** Events of types with no handler, skipped (onUnknownType: 'skip'). */
  skipped: number;
  deadLettered: number;
  /** Handler attempts that failed and were tried again. */
  retries: number;
  inFlight: number;
  /**
   * Group commit's transactions that may run at once now: `concurrency`, fewer while handlers
   * only write to the database and it queues them; null without group commit or before start.
   */
  groupsAtOnce: number | null;
  /** `open` while the broker or database is unreachable. */
  circuit: 'closed' | 'open';
  lastError: { code: string; message: string; at: Date } | null;
}

/** What every part of a running consumer shares: where it writes, who it is, how it reports. */
export interface ConsumerContext {
  pool: PoolLike;
  /** A transaction of the database's own client: its transaction object, and the port over it. */
  transaction: ClientDatabase['transaction'];
  schema: string;
  group: string;
  /** Handler attempts and the backoff between them (also paces the give-up path). */
  retry: { attempts: number; initialMs: number; maxMs: number };
  stats: ConsumerStats;
  logger: Logger;
  /** Fires at stop: work not started is released for redelivery. */
  signal: AbortSignal;
  /** The database or broker is away (the circuit opens), and back. */
  onOutage: (error: unknown) => void;
  onRecovered: () => void;
}
