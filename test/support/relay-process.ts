import { type ChildProcess, spawn } from 'node:child_process';
import { brokers, databaseUrl } from './env.ts';

export interface RelayProcess {
  child: ChildProcess;
  /** Everything the process wrote to stderr (its JSON logs). */
  logs(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `herald relay` as its own process, the way operators run it. `prefix`: a command that runs
 * it, e.g. `['ip', 'netns', 'exec', ns]` (which execs node in place: the child's pid is the relay's).
 */
export function spawnRelay(schema: string, extraEnv: Record<string, string> = {}, prefix: string[] = []): RelayProcess {
  const [command = process.execPath, ...args] = [...prefix, process.execPath, 'src/cli/main.ts', 'relay'];
  const child = spawn(command, args, {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: brokers.join(','),
      HERALD_SCHEMA: schema,
      HERALD_LOG_LEVEL: 'info',
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, logs: () => stderr, exited };
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
