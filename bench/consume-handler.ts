import { z } from 'zod';
import { defineEvent } from '../src/index.ts';
import { type MetricsRecorder, noMetrics } from '../src/observe/metrics.ts';
import { eventType } from './consume-baseline.ts';

// What every Herald system of the consume bench runs, in its drain and its latency phase: the
// bench's event, the effects row its handler writes, and the recorder of group transactions.

/** The bench's event type, published to `topic`. */
export const benchEvent = (topic: string) =>
  defineEvent({
    type: eventType,
    version: 1,
    destination: topic,
    schema: z.object({ key: z.string(), n: z.number().int(), data: z.string() }),
    key: (p) => p.key,
  });

/** The table of the handlers' effects, in the schema `s` (quoted). */
export const effectsTableSql = (s: string) =>
  `CREATE TABLE ${s}.effects (id bigserial PRIMARY KEY, event_id text NOT NULL, key text NOT NULL, n integer NOT NULL)`;

/** The handler's statement: one effects row per event, as consumer.on's handler writes it. */
export const effectSql = (s: string) => `INSERT INTO ${s}.effects (event_id, key, n) VALUES ($1, $2, $3)`;

/** The group transactions, as the consumer reports them (herald_consumer_group_events): a recorder to give it. */
export function groupRecorder() {
  const groups = { count: 0, events: 0 };
  const metrics: MetricsRecorder = {
    ...noMetrics,
    observe(metric, _labels, value) {
      if (metric !== 'consumerGroupEvents') return;
      groups.count++;
      groups.events += value as number;
    },
  };
  return { groups, metrics };
}
