import { eventBrand, isOutboxEvent, type OutboxEvent } from '../events/define.ts';
import type { AddedEvent, Outbox } from '../outbox/outbox.ts';
import type { Queryable } from '../store/db.ts';
import type { ConsumedEvent } from '../wire/incoming.ts';

/** The consumed event's correlation, causation, user, session and trace context, under what the caller set. */
export function caused(event: OutboxEvent, by: ConsumedEvent): OutboxEvent {
  const inherited = {
    correlationId: by.correlationId ?? by.id,
    causationId: by.id,
    ...(by.userId ? { userId: by.userId } : {}),
    ...(by.sessionId ? { sessionId: by.sessionId } : {}),
    ...(by.traceparent ? { traceparent: by.traceparent } : {}),
    ...(by.tracestate ? { tracestate: by.tracestate } : {}),
  };
  return Object.freeze({
    ...event,
    [eventBrand]: event[eventBrand],
    options: Object.freeze({ ...inherited, ...event.options }),
  });
}

export function emitter(outbox: Outbox, tx: Queryable) {
  return (by: ConsumedEvent, events: OutboxEvent | readonly OutboxEvent[]): Promise<AddedEvent[]> => {
    const list = Array.isArray(events) ? events : [events as OutboxEvent];
    return outbox.add(
      tx,
      list.map((e) => (isOutboxEvent(e) ? caused(e, by) : e)),
    );
  };
}
