// Loaded into every test file's process (`npm test` passes --import): a test file that leaves a
// relay, a consumer, a pool or a broker connection open fails, naming what is open and where it
// was opened, instead of hanging until CI's timeout or passing by luck.
//
// How: sockets and timers are tracked as they are created (with the stack that made a socket).
// When the file's tests are done (the root `after`, which runs before the file's own `after`
// hooks), a timer that does not keep the process alive waits `graceMs` for those hooks to close
// what they own. A process with nothing left open exits before it fires; one that is still alive
// then has leaked, and the guard reports and exits 1, which fails the file.
import { createHook } from 'node:async_hooks';
import { after } from 'node:test';

const graceMs = Number(process.env.HERALD_LEAK_GRACE_MS ?? 60_000);
const watched = new Set(['TCPWRAP', 'PIPEWRAP', 'TCPCONNECTWRAP', 'Timeout']);

interface Tracked {
  type: string;
  resource: object;
  stack: string | undefined;
}
const live = new Map<number, Tracked>();

createHook({
  init(asyncId, type, _trigger, resource) {
    if (!watched.has(type)) return;
    // Stacks for connections only: timers are many, and their owner shows in the connections.
    const stack =
      type === 'Timeout'
        ? undefined
        : new Error().stack
            ?.split('\n')
            .slice(2)
            .filter((line) => !line.includes('(node:') && !line.includes('leak-guard'))
            .slice(0, 8)
            .join('\n');
    live.set(asyncId, { type, resource, stack });
  },
  destroy(asyncId) {
    live.delete(asyncId);
  },
}).enable();

interface PeerName {
  address?: string;
  port?: number;
}

/** Where a socket goes, if it is still connected: `127.0.0.1:5432`. */
function peer(resource: object): string | null {
  const handle = resource as { getpeername?(out: PeerName): number };
  if (typeof handle.getpeername !== 'function') return null;
  const out: PeerName = {};
  return handle.getpeername(out) === 0 && out.port ? `${out.address}:${out.port}` : null;
}

/** Whether a handle still keeps the process alive. */
function refed(resource: object): boolean {
  const r = resource as { hasRef?(): boolean };
  return typeof r.hasRef === 'function' ? r.hasRef() : true;
}

function report(): string {
  const lines = [`open handles: ${process.getActiveResourcesInfo().join(', ')}`];
  for (const t of live.values()) {
    if (!refed(t.resource)) continue;
    if (t.type === 'Timeout') continue;
    lines.push(`- ${t.type} ${peer(t.resource) ?? '(not connected)'}, opened at:\n${t.stack ?? '  (no stack)'}`);
  }
  const timers = [...live.values()].filter((t) => t.type === 'Timeout' && refed(t.resource)).length;
  if (timers > 0) lines.push(`- ${timers} timer(s) that keep the process alive (a relay or consumer not stopped?)`);
  return lines.join('\n');
}

after(() => {
  setTimeout(() => {
    process.stderr.write(
      `\nLEAK: this test file left something open ${graceMs / 1000} s after its tests ended: stop every relay and consumer, close every transport and end every pool it made.\n${report()}\n`,
    );
    process.exit(1);
  }, graceMs).unref();
});
