import type { Logger } from '../observe/logger.ts';
import type { Queryable } from '../store/db.ts';
import { claimRetries, resolveConsumerDeadLetter } from '../store/sql/consumer-dead-letters.ts';
import type { IncomingMessage } from '../transports/transport.ts';
import { errorOf } from './dead-letter.ts';
import type { createPipeline } from './pipeline.ts';
import { Released } from './released.ts';

/**
 * Re-delivers to this group the dead letters someone marked for retry (`herald dlq retry
 * --group`): each goes through the handler again, with the inbox, behind the messages of its key
 * already queued. Success marks it `retried`; a new failure puts it back to `pending` with why.
 * Each is claimed by one member of the group at a time.
 */
export function startRedelivery(deps: {
  db: Queryable;
  schema: string;
  group: string;
  /** Queues work behind what the message's key (as live messages are keyed) has queued. */
  inOrder: (m: IncomingMessage, work: () => Promise<void>) => void;
  pipeline: ReturnType<typeof createPipeline>;
  logger: Logger;
  signal: AbortSignal;
  pollMs: number;
}): () => void {
  const { db, schema, group, logger } = deps;
  const busy = new Set<string>();
  let running = false;
  const poll = async () => {
    if (running || deps.signal.aborted) return;
    running = true;
    try {
      // Held for two minutes: long enough for a handler's retries; a member that dies lets go then.
      const rows = await claimRetries(db, schema, group, 100, 120_000);
      for (const row of rows) {
        if (busy.has(row.message_id)) continue;
        busy.add(row.message_id);
        const message: IncomingMessage = {
          topic: row.topic,
          partition: Number(row.partition),
          offset: row.position,
          key: row.partition_key,
          value: row.body,
          headers: row.headers,
        };
        deps.inOrder(message, async () => {
          try {
            let failure: { error: unknown; attempts: number } | null = null;
            await deps.pipeline.handle(
              message,
              async (_message, error, attempts) => {
                failure = { error, attempts };
              },
              'redelivery',
            );
            const outcome = failure as { error: unknown; attempts: number } | null;
            await resolveConsumerDeadLetter(
              db,
              schema,
              group,
              row.message_id,
              outcome ? { retryError: errorOf(outcome.error).message, attempts: outcome.attempts } : { retried: true },
            );
            logger.info({ group, id: row.message_id, ok: outcome === null }, 'dead letter re-delivered');
          } catch (error) {
            if (!(error instanceof Released))
              logger.warn({ error, id: row.message_id }, 'dead letter re-delivery failed');
          } finally {
            busy.delete(row.message_id);
          }
        });
      }
    } catch (error) {
      logger.debug({ error }, 'dead letters marked for retry not read');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void poll(), deps.pollMs);
  timer.unref();
  return () => clearInterval(timer);
}
