import type { Readiness } from '../observe/http.ts';
import type { PoolLike } from '../store/connect.ts';
import type { StuckMessage } from './ordering.ts';
import type { ConsumerStats } from './types.ts';

/**
 * Ready: running with the broker and database reachable, subscribed to its topics (in the group),
 * and making progress: no partition whose first unfinished message has been in flight longer than
 * `stuckAfterMs` while others wait behind it (a handler retrying one message over and over).
 */
export async function consumerReadiness(deps: {
  group: string;
  stats: ConsumerStats;
  subscribed: boolean;
  stuck: StuckMessage[];
  stuckAfterMs: number;
  pool: PoolLike;
}): Promise<Readiness> {
  const { stats } = deps;
  const reasons: string[] = [];
  if (stats.state !== 'running') reasons.push(`consumer is ${stats.state}`);
  if (stats.circuit === 'open' && stats.lastError) {
    reasons.push(`cannot reach a dependency: ${stats.lastError.code}: ${stats.lastError.message}`);
  }
  if (!deps.subscribed) reasons.push('not subscribed to its topics (joining the group, or the broker is away)');
  for (const s of deps.stuck) {
    reasons.push(
      `${s.topic}[${s.partition}]@${s.offset} unfinished for ${s.seconds} s (over ${deps.stuckAfterMs / 1000} s) with ${s.waiting} messages waiting behind it`,
    );
  }
  await deps.pool.query('SELECT 1').catch((error: unknown) => {
    reasons.push(`database unreachable: ${error instanceof Error ? error.message : String(error)}`);
  });
  return {
    name: `consumer ${deps.group}`,
    ready: reasons.length === 0,
    reasons,
    details: { state: stats.state, subscribed: deps.subscribed, inFlight: stats.inFlight, stuck: deps.stuck },
  };
}
