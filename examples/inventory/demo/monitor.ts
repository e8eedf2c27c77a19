// The demo's monitor: a consumer group of its own that reads every topic and records each event
// it handles (in batches), so the summary can check that nothing was lost or handled twice, and
// the live view can show what flows.
import type { Consumer, EventDefinition } from 'herald';
import { type GroupSettings, serviceConsumer } from '../db.ts';
import * as events from '../events.ts';

export const definitions: EventDefinition[] = (Object.values(events) as unknown[]).filter(
  (v): v is EventDefinition => typeof v === 'function' && 'type' in v && 'version' in v,
);

export interface Monitor {
  consumer: Consumer;
  /** Events handled per type, and low-stock alerts per severity, since start. */
  counts: Map<string, number>;
  alerts: Map<string, number>;
}

export function monitorConsumer(o: GroupSettings): Monitor {
  const consumer = serviceConsumer(o, '/monitor');
  const counts = new Map<string, number>();
  const alerts = new Map<string, number>();
  for (const definition of definitions) {
    consumer.onBatch(
      definition,
      async (batch, { tx }) => {
        await tx.query(`INSERT INTO ${o.schema}.seen (event_id, type) SELECT unnest($1::text[]), $2`, [
          batch.map((e) => e.id),
          definition.type,
        ]);
        // For the live view only: a batch whose commit failed is retried and counted again.
        counts.set(definition.type, (counts.get(definition.type) ?? 0) + batch.length);
        if (definition.type === events.LowStockAlert.type) {
          for (const e of batch) {
            const severity = (e.payload as { severity: string }).severity;
            alerts.set(severity, (alerts.get(severity) ?? 0) + 1);
          }
        }
      },
      { size: 200, maxWaitMs: 20 },
    );
  }
  return { consumer, counts, alerts };
}
