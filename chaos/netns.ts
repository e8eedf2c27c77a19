// A network namespace of the run's own, for cutting one relay off from the brokers and the
// database: `herald-chaos-<pid>`, joined to this machine's namespace by a veth pair with private
// addresses (a /30 of 10.213.0.0/16 that no interface here uses). The relay runs inside with
// `ip netns exec`; the cut is its end of the pair set down (traffic dropped), then up again.
// Removed at the end, on exit and on SIGINT/SIGTERM/SIGHUP; ones left by a dead run are swept.
import { execFileSync } from 'node:child_process';

const PREFIX = 'herald-chaos-';

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const quietly = (...args: string[]) => {
  try {
    ip(...args);
  } catch {
    /* already gone */
  }
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Why no namespace can be made here (not root, no `ip`), or null. */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root (ip netns needs CAP_SYS_ADMIN)';
  try {
    ip('netns', 'list');
  } catch (error) {
    return `\`ip netns\` does not work here: ${(error as Error).message.split('\n')[0]}`;
  }
  return null;
}

/** Removes the namespaces (and host-side veths) of runs whose process is gone. */
export function sweepStaleNetns(): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const pid = Number(new RegExp(`^${PREFIX}(\\d+)`).exec(line)?.[1]);
    if (pid && !alive(pid)) quietly('netns', 'del', `${PREFIX}${pid}`);
  }
  for (const match of ip('-o', 'link', 'show').matchAll(/^\d+: (hc(\d+)h)[@:]/gm)) {
    if (!alive(Number(match[2]))) quietly('link', 'del', match[1] as string);
  }
}

/** A /30 of 10.213.0.0/16 no interface here has an address in (10.213.<a>.<4b> .. +3). */
function freeSubnet(): [number, number] {
  const used = ip('-o', '-4', 'addr', 'show');
  for (let i = process.pid % 16_000, tries = 0; tries < 16_000; i = (i + 1) % 16_000, tries++) {
    const a = Math.floor(i / 64);
    const b = (i % 64) * 4;
    if (!new RegExp(`inet 10\\.213\\.${a}\\.(${b}|${b + 1}|${b + 2}|${b + 3})/`).test(used)) return [a, b];
  }
  throw new Error('no free /30 in 10.213.0.0/16');
}

export interface Netns {
  name: string;
  /** This machine's end of the pair: what the services listen on for the relay inside. */
  hostAddress: string;
  /** The namespace's end. */
  nsAddress: string;
  /** The /30 both ends are in, for pg_hba.conf. */
  subnet: string;
  /** Runs a command inside: `[...prefix, 'node', ...]`. */
  prefix: string[];
  /** The namespace's end of the pair down (true) or up (false). */
  cut(down: boolean): void;
  destroy(): void;
}

/** Makes the namespace and its veth pair; throws when it cannot (see netnsUnavailable). */
export function createNetns(): Netns {
  sweepStaleNetns();
  const name = `${PREFIX}${process.pid}`;
  const host = `hc${process.pid}h`;
  const inner = `hc${process.pid}n`;
  const [a, b] = freeSubnet();
  const hostAddress = `10.213.${a}.${b + 1}`;
  const nsAddress = `10.213.${a}.${b + 2}`;
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    quietly('netns', 'del', name);
    quietly('link', 'del', host);
    process.off('exit', destroy);
    for (const signal of signals) process.off(signal, onSignal);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (signal: NodeJS.Signals) => {
    destroy();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.on('exit', destroy);
  for (const signal of signals) process.once(signal, onSignal);
  try {
    ip('netns', 'add', name);
    ip('link', 'add', host, 'type', 'veth', 'peer', 'name', inner);
    ip('link', 'set', inner, 'netns', name);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', host);
    ip('link', 'set', host, 'up');
    ip('-n', name, 'addr', 'add', `${nsAddress}/30`, 'dev', inner);
    ip('-n', name, 'link', 'set', inner, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (error) {
    destroy();
    throw error;
  }
  return {
    name,
    hostAddress,
    nsAddress,
    subnet: `10.213.${a}.${b}/30`,
    prefix: ['ip', 'netns', 'exec', name],
    cut: (down) => ip('-n', name, 'link', 'set', inner, down ? 'down' : 'up'),
    destroy,
  };
}
