import { getStatus, type HeraldStatus, type StatusThresholds } from '../status/status.ts';
import type { PoolLike } from '../store/connect.ts';
import type { RelayStats } from './relay.ts';

export interface RelayHealth {
  healthy: boolean;
  problems: string[];
  relay: RelayStats;
  status: HeraldStatus;
}

/** `herald status` for the relay's schema, with the relay's own state first: for health probes. */
export async function relayHealth(
  db: PoolLike,
  schema: string,
  relay: RelayStats,
  thresholds: Partial<StatusThresholds> = {},
): Promise<RelayHealth> {
  const status = await getStatus({ db, schema, ...thresholds });
  const problems = [...status.problems];
  if (relay.state !== 'running') problems.unshift(`relay is ${relay.state}`);
  if (relay.failures > 0 && relay.lastError) {
    problems.unshift(`${relay.failures} failed attempts: ${relay.lastError.code}: ${relay.lastError.message}`);
  }
  return { healthy: problems.length === 0, problems, relay, status };
}
