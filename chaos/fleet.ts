import { type RelayProcess, spawnRelay } from '../test/support/relay-process.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Slot {
  process: RelayProcess;
  /** The relay's instance id, from its "relay started" log line. */
  instance: string;
  /** Set when we killed it; an exit without this is a crash. */
  expectedExit: boolean;
}

/** How the relay of one slot runs, when it differs from the others (its own addresses, a network namespace). */
export interface SlotSpec {
  env?: Record<string, string>;
  /** A command that runs the relay, e.g. `['ip', 'netns', 'exec', ns]`. */
  prefix?: string[];
}

/** `herald relay` processes, one per slot, restarted in place; every process ever spawned is tracked. */
export function createFleet(
  schema: string,
  env: Record<string, string>,
  slotSpec: (i: number) => SlotSpec = () => ({}),
  /** How long a relay may take to log that it started (a loaded machine starts node slowly). */
  startTimeoutMs = 30_000,
) {
  const all: RelayProcess[] = [];
  const slots: Slot[] = [];
  const crashes: string[] = [];

  const spawn = async (i: number): Promise<Slot> => {
    const spec = slotSpec(i);
    const process = spawnRelay(schema, { ...env, ...spec.env }, spec.prefix);
    all.push(process);
    const slot: Slot = { process, instance: '', expectedExit: false };
    void process.exited.then(({ code, signal }) => {
      if (!slot.expectedExit) crashes.push(`relay ${slot.instance || '?'} exited on its own: ${code ?? signal}`);
    });
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      const match =
        /"msg":"relay started"[^\n]*?"instance":"([^"]+)"|"instance":"([^"]+)"[^\n]*?"msg":"relay started"/.exec(
          process.logs(),
        );
      if (match) {
        slot.instance = (match[1] ?? match[2]) as string;
        return slot;
      }
      if (process.child.exitCode !== null) break;
      await sleep(50);
    }
    throw new Error(
      `the relay of slot ${i} did not start within ${startTimeoutMs / 1000} s:\n${process.logs().slice(-2000)}`,
    );
  };

  return {
    slots,
    crashes,
    /** Every relay's log (its stderr), oldest process first. */
    logs: () => all.map((p, i) => `--- relay process ${i} (pid ${p.child.pid})\n${p.logs()}`).join('\n'),
    async start(n: number): Promise<void> {
      for (let i = 0; i < n; i++) slots.push(await spawn(i));
    },
    /** SIGKILLs the relay in `slot`; returns it (the slot is empty until `restart`). */
    kill(i: number): Slot {
      const slot = slots[i] as Slot;
      slot.expectedExit = true;
      slot.process.child.kill('SIGKILL');
      return slot;
    },
    async restart(i: number): Promise<Slot> {
      const slot = await spawn(i);
      slots[i] = slot;
      return slot;
    },
    /** SIGTERM every relay (a clean stop), SIGKILL what is still running after `graceMs`. */
    async stopAll(graceMs = 5000): Promise<void> {
      for (const s of slots) s.expectedExit = true;
      const running = all.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
      for (const p of running) {
        p.child.kill('SIGCONT');
        p.child.kill('SIGTERM');
      }
      const timer = sleep(graceMs);
      await Promise.race([Promise.all(running.map((p) => p.exited)), timer]);
      for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await Promise.all(running.map((p) => p.exited));
    },
  };
}

export type Fleet = ReturnType<typeof createFleet>;
