// The end-to-end run's consumer processes (chaos/consumer-process.ts), one per slot, restarted in
// place. Each incarnation's last stats line is kept, so what the inbox absorbed is summed over every
// process that ever ran, a SIGKILLed one's last report included. One that exits on its own is a
// crash: noted (with its stderr) and started again in its slot, as a supervisor would.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const script = fileURLToPath(new URL('./consumer-process.ts', import.meta.url));

interface Incarnation {
  child: ChildProcess;
  stats: { handled: number; duplicates: number };
  /** The tail of its stderr (warnings and errors). */
  stderr: string;
  expectedExit: boolean;
  exited: Promise<void>;
}

export function createConsumers(env: Record<string, string>) {
  const all: Incarnation[] = [];
  const slots: Incarnation[] = [];
  const crashes: string[] = [];

  let stopping = false;
  const spawnOne = (slot: number): Incarnation => {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const one: Incarnation = {
      child,
      stats: { handled: 0, duplicates: 0 },
      stderr: '',
      expectedExit: false,
      exited: new Promise((resolve) => child.on('exit', () => resolve())),
    };
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      const last = lines.filter((l) => l.startsWith('{')).pop();
      if (last) one.stats = JSON.parse(last);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      one.stderr = (one.stderr + chunk.toString()).slice(-20_000);
    });
    child.on('exit', (code, signal) => {
      if (one.expectedExit) return;
      const why = crashSummary(one.stderr);
      crashes.push(`consumer ${slot} (pid ${child.pid}) exited on its own (${code ?? signal}): ${why}`);
      if (!stopping && slots[slot] === one) slots[slot] = spawnOne(slot);
    });
    all.push(one);
    return one;
  };
  const running = () => all.filter((p) => p.child.exitCode === null && p.child.signalCode === null);

  return {
    crashes,
    start(n: number): void {
      for (let i = 0; i < n; i++) slots.push(spawnOne(i));
    },
    pid: (i: number) => slots[i]?.child.pid,
    signal(i: number, signal: NodeJS.Signals): void {
      const one = slots[i] as Incarnation;
      if (signal === 'SIGKILL') one.expectedExit = true;
      one.child.kill(signal);
    },
    async restart(i: number): Promise<void> {
      await slots[i]?.exited;
      slots[i] = spawnOne(i);
    },
    /** Handled events summed over every incarnation's last report. */
    handled: () => all.reduce((s, p) => s + p.stats.handled, 0),
    /** Duplicates the inboxes absorbed, summed over every incarnation's last report. */
    duplicates: () => all.reduce((s, p) => s + p.stats.duplicates, 0),
    incarnations: () => all.length,
    /** Every incarnation's stderr tail. */
    logs: () => all.map((p, i) => `--- consumer process ${i} (pid ${p.child.pid})\n${p.stderr}`).join('\n'),
    /** SIGTERM (a clean stop and a last stats line), SIGKILL what still runs after graceMs. */
    async stopAll(graceMs = 10_000): Promise<void> {
      stopping = true;
      const live = running();
      for (const p of live) {
        p.expectedExit = true;
        p.child.kill('SIGCONT');
        p.child.kill('SIGTERM');
      }
      await Promise.race([Promise.all(live.map((p) => p.exited)), sleep(graceMs)]);
      for (const p of running()) p.child.kill('SIGKILL');
      await Promise.all(live.map((p) => p.exited));
    },
  };
}

export type Consumers = ReturnType<typeof createConsumers>;

/**
 * The error that ended a process, from its stderr: an unhandled one prints its name and message on
 * a line of its own, then its stack, and for an 'error' event nobody listened to, "Emitted 'error'
 * event on <what> instance at:" and that stack. The first frames of each are kept, to say where.
 */
export function crashSummary(stderr: string): string {
  const lines = stderr.split('\n');
  const start = lines.findIndex((l) => /^(?:\w*Error\b|error:)/.test(l));
  if (start < 0) return stderr.slice(-300);
  const kept = [lines[start] as string];
  let frames = 0;
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('Emitted ')) {
      kept.push(line.trim());
      frames = 0;
    } else if (/^\s+at /.test(line) && frames < 4) {
      kept.push(line.trim());
      frames++;
    }
  }
  return kept.join(' | ');
}
