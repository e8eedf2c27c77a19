import type { Readiness } from '../observe/http.ts';
import { getStatus, type HeraldStatus, type StatusThresholds } from '../status/status.ts';
import type { PoolLike } from '../store/connect.ts';
import type { Transport } from '../transports/transport.ts';
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

/**
 * Ready: running (not starting, stopping or retrying a failure), the broker reachable (the
 * circuit closed, and it answers now) and the database answering. Holding no shard is ready too: another relay holds
 * them, and this one takes over when it goes.
 */
export async function relayReadiness(db: PoolLike, broker: Transport, relay: RelayStats): Promise<Readiness> {
  const reasons: string[] = [];
  if (relay.state !== 'running' && relay.state !== 'retrying') reasons.push(`relay is ${relay.state}`);
  if (relay.circuit === 'open') reasons.push('broker unreachable (circuit open)');
  if (relay.failures > 0 && relay.lastError) {
    reasons.push(`${relay.failures} failed attempts: ${relay.lastError.code}: ${relay.lastError.message}`);
  }
  if (relay.state === 'running' || relay.state === 'retrying') {
    const unreachable = (what: string) => (error: unknown) => {
      reasons.push(`${what} unreachable: ${error instanceof Error ? error.message : String(error)}`);
    };
    // The broker is asked too: a relay with nothing to publish would not notice it is away.
    await Promise.all([
      db.query('SELECT 1').catch(unreachable('database')),
      relay.circuit === 'open' ? undefined : broker.connect().catch(unreachable('broker')),
    ]);
  }
  return {
    name: `relay ${relay.instanceId}`,
    ready: reasons.length === 0,
    reasons,
    details: { state: relay.state, shards: relay.shards.length, waitingForLeases: relay.shards.length === 0 },
  };
}
