import {
  type EventOptions,
  type Outbox,
  type OutboxEvent,
  type PoolLike,
  type Queryable,
  withTransaction,
} from 'herald';

/** What a stock operation runs in: a transaction, the schema, and where its events go. */
export interface StockContext {
  tx: Queryable;
  schema: string;
  /** outbox.add(tx, …) from the HTTP API, the handler's emit in a consumer. */
  emit(events: OutboxEvent[]): Promise<unknown>;
  /** Correlation of the events written; the consumed event's id for effects of a consumer. */
  correlationId?: string;
  causedBy?: string;
  performedBy?: string;
}

export const eventOptions = (ctx: StockContext): EventOptions =>
  ctx.correlationId ? { correlationId: ctx.correlationId } : {};

/** Runs `fn` in a transaction whose events go through `outbox`: the HTTP API and the expiry job. */
export const inStockTransaction = <T>(
  db: PoolLike,
  base: Omit<StockContext, 'tx' | 'emit'>,
  outbox: Outbox,
  fn: (ctx: StockContext) => Promise<T>,
): Promise<T> => withTransaction(db, (tx) => fn({ ...base, tx, emit: (events) => outbox.add(tx, events) }));
