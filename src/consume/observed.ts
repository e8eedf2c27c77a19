import { type MetricsRecorder, noMetrics } from '../observe/metrics.ts';
import type { IncomingMessage } from '../transports/transport.ts';
import type { GiveUp } from './dead-letter.ts';
import type { Outcome } from './pipeline.ts';

type Handle = (m: IncomingMessage, giveUp: GiveUp) => Promise<Outcome>;

const outcomes: Record<Outcome, string> = {
  handled: 'handled',
  duplicate: 'duplicate',
  skipped: 'skipped',
  failed: 'dead_lettered',
};

/**
 * The pipeline's handling of one delivery, measured: its outcome per group and its duration from
 * delivery to outcome (retries and the wait behind earlier messages of its key included).
 */
export function observedHandling(handle: Handle, metrics: MetricsRecorder, group: string): Handle {
  if (metrics === noMetrics) return handle;
  const labels = { group };
  return async (m, giveUp) => {
    const started = performance.now();
    const outcome = await handle(m, giveUp);
    metrics.observe('consumerProcessDuration', labels, (performance.now() - started) / 1000);
    metrics.add('consumerProcessed', { group, outcome: outcomes[outcome] }, 1);
    if (outcome === 'duplicate') metrics.add('inboxDuplicates', labels, 1);
    return outcome;
  };
}
