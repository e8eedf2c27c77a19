// CPU seconds as the kernel counts them, for the relay bench's cost per event: the bench's main
// thread (where the relay runs; writers have a thread of their own), the PostgreSQL backends that
// serve the relay (found by application_name, the walsender included), and the whole server (the
// postmaster's children). Linux /proc only; null elsewhere or for a server on another machine.
import { readFileSync } from 'node:fs';
import type pg from 'pg';

const ticksPerSecond = 100; // USER_HZ on Linux

/** A process's CPU seconds so far (user and system), or null when it cannot be read. */
export function cpuOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return null;
  }
}

/** A process's name (`postgres` for a server's backend), or null when it is not one of this machine's. */
export function processName(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

function childrenOf(parent: number): number[] {
  try {
    return readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** The whole machine's CPU time so far, all cores (/proc/stat): busy and in all, in seconds. */
interface MachineCpu {
  busy: number;
  total: number;
}

function machineCpu(): MachineCpu | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is in user)
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>((a, v) => a + (v ?? 0), 0);
    const total = busy + (idle ?? 0) + (iowait ?? 0);
    return Number.isFinite(total) ? { busy: busy / ticksPerSecond, total: total / ticksPerSecond } : null;
  } catch {
    return null;
  }
}

/** Share of all cores busy between two readings, in per cent; null where either is. */
function busyPct(before: MachineCpu | null, after: MachineCpu | null): number | null {
  if (!before || !after || after.total <= before.total) return null;
  return Math.round(((after.busy - before.busy) / (after.total - before.total)) * 1000) / 10;
}

/**
 * Starts measuring the calling thread's CPU and the machine's; `stop(events)` gives the thread's
 * CPU seconds per 10,000 events and how busy the machine's cores were meanwhile.
 */
export function cpuMeter() {
  const thread = process.threadCpuUsage();
  const machine = machineCpu();
  return {
    stop(events: number) {
      const used = process.threadCpuUsage(thread);
      return {
        threadCpuSecPer10k: Math.round(((used.user + used.system) / 1e6 / events) * 10_000 * 1000) / 1000,
        machineBusyPct: busyPct(machine, machineCpu()),
      };
    },
  };
}

export interface CpuSample {
  mainThread: number;
  relayBackends: number | null;
  /** The walsenders among them (CDC, Debezium): decoding, apart from the relay's own queries. */
  walsenders: number | null;
  /** Per process of the server, so one started meanwhile counts whole and none twice. */
  server: Map<number, number> | null;
}

export interface CpuProbe {
  sample(): CpuSample;
}

/**
 * Finds the relay's backends (application_name `app`) and the server's processes now; samples
 * add up their CPU. Backends must live through the measurement (pools without idle timeout).
 */
export async function cpuProbe(
  db: pg.Pool,
  app: string,
  relay: { slot?: string | undefined; pid?: number | null | undefined } = {},
): Promise<CpuProbe> {
  const own = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const postmaster = parentOf(own.rows[0]?.pid ?? -1);
  const found = (
    await db.query<{ pid: number; wal: boolean }>(
      `SELECT pid, backend_type = 'walsender' AS wal FROM pg_stat_activity WHERE application_name = $1
UNION SELECT active_pid, true FROM pg_replication_slots WHERE slot_name = $2 AND active_pid IS NOT NULL`,
      [app, relay.slot ?? null],
    )
  ).rows;
  const backends = [...new Set(found.map((r) => r.pid))];
  const walsenders = [...new Set(found.filter((r) => r.wal).map((r) => r.pid))];
  const sum = (pids: number[]) => {
    const values = pids.map(cpuOf);
    return values.some((v) => v === null) && values.every((v) => v === null)
      ? null
      : values.reduce<number>((a, v) => a + (v ?? 0), 0);
  };
  return {
    sample() {
      const thread = process.threadCpuUsage();
      return {
        mainThread: relay.pid ? (cpuOf(relay.pid) ?? Number.NaN) : (thread.user + thread.system) / 1e6,
        relayBackends: backends.length > 0 ? sum(backends) : null,
        walsenders: walsenders.length > 0 ? sum(walsenders) : null,
        server: postmaster
          ? new Map(
              [postmaster, ...childrenOf(postmaster)].flatMap((pid) => {
                const cpu = cpuOf(pid);
                return cpu === null ? [] : [[pid, cpu] as [number, number]];
              }),
            )
          : null,
      };
    },
  };
}

/** CPU seconds per 10,000 events between two samples; null where a sample was null. */
export function per10k(before: CpuSample, after: CpuSample, events: number) {
  const per = (a: number | null, b: number | null) =>
    a === null || b === null || events === 0 ? null : Math.round(((b - a) / events) * 10_000 * 1000) / 1000;
  const server = (a: Map<number, number> | null, b: Map<number, number> | null) => {
    if (a === null || b === null) return null;
    let spent = 0;
    for (const [pid, cpu] of b) spent += cpu - (a.get(pid) ?? 0);
    return spent;
  };
  return {
    relayCpuSecPer10k: per(before.mainThread, after.mainThread),
    relayPgCpuSecPer10k: per(before.relayBackends, after.relayBackends),
    walsenderCpuSecPer10k: per(before.walsenders, after.walsenders),
    pgCpuSecPer10k: per(0, server(before.server, after.server)),
  };
}
