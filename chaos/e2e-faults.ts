// The faults of the end-to-end chaos run, one at a time, each noted with its start and end (for
// the timeline) and counted: relays and consumers SIGKILLed (then restarted) and SIGSTOPped past
// their lease or session timeout, the broker leading a partition SIGKILLed and restarted,
// PostgreSQL restarted, and the relay in the run's network namespace cut off past its lease.
import type { PrivateKafkaCluster } from '../infra/kafka-cluster.mjs';
import type { PrivatePostgres } from '../infra/postgres.mjs';
import { leaderOf } from './cluster-admin.ts';
import type { Consumers } from './consumers.ts';
import type { Fleet } from './fleet.ts';
import type { Netns } from './netns.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Fault =
  | 'relay-kill'
  | 'consumer-kill'
  | 'broker-kill'
  | 'relay-stop'
  | 'consumer-stop'
  | 'pg-restart'
  | 'net-cut';

/** One round: every kind of fault once. */
export const round: Fault[] = [
  'relay-kill',
  'consumer-kill',
  'broker-kill',
  'relay-stop',
  'pg-restart',
  'consumer-stop',
  'net-cut',
];

export interface FaultMark {
  fault: Fault;
  /** Seconds since the run's start, when it began and ended. */
  from: number;
  to: number;
  what: string;
}

export interface FaultContext {
  fleet: Fleet;
  consumers: Consumers;
  cluster: PrivateKafkaCluster;
  postgres: PrivatePostgres;
  /** The namespace and the fleet slot whose relay runs in it; undefined when none could be made. */
  netns: { ns: Netns; slot: number } | undefined;
  topic: string;
  partitions: number;
  relays: number;
  consumerCount: number;
  leaseMs: number;
  sessionMs: number;
  t0: number;
  log: (line: string) => void;
}

const fencedPattern = /lost shard leases|shard leases changed/;

export function createFaults(ctx: FaultContext) {
  const { fleet, consumers, cluster, postgres, leaseMs, sessionMs, log } = ctx;
  const marks: FaultMark[] = [];
  const counts = {
    relayKills: 0,
    consumerKills: 0,
    brokerKills: 0,
    relayStops: 0,
    consumerStops: 0,
    pgRestarts: 0,
    netCuts: 0,
    /** Paused relays that logged, after SIGCONT, that their leases had gone. */
    stoppedRelaysFenced: 0,
    /** Cut-off relays that logged, after the link came up, that their leases had gone. */
    cutRelaysFenced: 0,
  };
  const now = () => Math.round((Date.now() - ctx.t0) / 100) / 10;

  /** Waits up to 4 leases for the relay of `slot` to log that its leases went, after log offset `from`. */
  const fenced = async (slot: number, from: number) => {
    const deadline = Date.now() + 4 * leaseMs;
    while (Date.now() < deadline) {
      if (fencedPattern.test(fleet.slots[slot]?.process.logs().slice(from) ?? '')) return true;
      await sleep(100);
    }
    return false;
  };
  const logsAt = (slot: number) => fleet.slots[slot]?.process.logs().length ?? 0;
  /** What a relay that did not log its lost leases logged since `from`: its last lines, to see where it was. */
  const tail = (slot: number, from: number) => {
    const lines = (fleet.slots[slot]?.process.logs().slice(from) ?? '').trim().split('\n').filter(Boolean);
    return lines.length === 0 ? 'nothing logged' : `its last lines:\n${lines.slice(-8).join('\n')}`;
  };

  async function act(fault: Fault, n: number): Promise<string> {
    switch (fault) {
      case 'relay-kill': {
        const i = n % ctx.relays;
        fleet.kill(i);
        counts.relayKills++;
        await sleep(1000);
        await fleet.restart(i);
        return `relay ${i} SIGKILLed, restarted`;
      }
      case 'consumer-kill': {
        const i = n % ctx.consumerCount;
        consumers.signal(i, 'SIGKILL');
        counts.consumerKills++;
        await sleep(1000);
        await consumers.restart(i);
        return `consumer ${i} SIGKILLed, restarted`;
      }
      case 'broker-kill': {
        const partition = n % ctx.partitions;
        const leader = await leaderOf(cluster.bootstrap, ctx.topic, partition);
        const node = cluster.node(leader) ?? (cluster.nodes[0] as (typeof cluster.nodes)[number]);
        await node.kill();
        counts.brokerKills++;
        log(`  broker ${node.nodeId} (leader of partition ${partition}) SIGKILLed`);
        await sleep(2000);
        const started = await node.start();
        return `broker ${node.nodeId}, leader of partition ${partition}, SIGKILLed; back after ${(((started as { ms?: number }).ms ?? 0) / 1000).toFixed(1)} s`;
      }
      case 'relay-stop': {
        const i = n % ctx.relays;
        const from = logsAt(i);
        fleet.slots[i]?.process.child.kill('SIGSTOP');
        counts.relayStops++;
        await sleep(2 * leaseMs);
        fleet.slots[i]?.process.child.kill('SIGCONT');
        const ok = await fenced(i, from);
        if (ok) counts.stoppedRelaysFenced++;
        return `relay ${i} SIGSTOPped for ${(2 * leaseMs) / 1000} s; ${ok ? 'it logged its lost leases' : `it did NOT log lost leases; ${tail(i, from)}`}`;
      }
      case 'consumer-stop': {
        const i = n % ctx.consumerCount;
        const ms = sessionMs + 3000;
        consumers.signal(i, 'SIGSTOP');
        counts.consumerStops++;
        await sleep(ms);
        consumers.signal(i, 'SIGCONT');
        return `consumer ${i} SIGSTOPped for ${ms / 1000} s (session timeout ${sessionMs / 1000} s)`;
      }
      case 'pg-restart': {
        const r = await postgres.restart({ mode: 'fast' });
        counts.pgRestarts++;
        return `PostgreSQL restarted in ${(r.ms / 1000).toFixed(1)} s`;
      }
      case 'net-cut': {
        if (!ctx.netns) return 'skipped: no network namespace';
        const { ns, slot } = ctx.netns;
        const from = logsAt(slot);
        ns.cut(true);
        counts.netCuts++;
        await sleep(2 * leaseMs);
        ns.cut(false);
        const ok = await fenced(slot, from);
        if (ok) counts.cutRelaysFenced++;
        return `relay ${slot} cut off (link down in ${ns.name}) for ${(2 * leaseMs) / 1000} s; ${ok ? 'it logged its lost leases' : `it did NOT log lost leases; ${tail(slot, from)}`}`;
      }
    }
  }

  return {
    marks,
    counts,
    /** Runs one fault, the n-th of its kind's turn (which relay, consumer or partition rotates with n). */
    async run(fault: Fault, n: number): Promise<void> {
      if (fault === 'net-cut' && !ctx.netns) return;
      const from = now();
      const what = await act(fault, n);
      marks.push({ fault, from, to: now(), what });
      log(`${fault}: ${what}`);
    },
  };
}

export type Faults = ReturnType<typeof createFaults>;
