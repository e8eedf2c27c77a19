// A local server process herald starts and stops itself: what infra/java-service.mjs (Kafka,
// ElasticMQ), infra/nats.mjs and infra/rabbitmq.mjs share. localService(spec) starts the command
// detached with a pid file, waits until it is ready, and stops only what herald started (that pid);
// start, stop and restart hold the instance's lock file, so parallel test processes take turns.
// Plain ESM, Node >= 20, no dependencies.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import {
  fileSize,
  forgetStarted,
  killAndWait,
  pidAlive,
  pidCmdline,
  portOpen,
  recordStarted,
  sleep,
  tailFile,
  tailSince,
  withLock,
} from './lib.mjs';

/**
 * @typedef {object} LocalServiceSpec
 * @property {string} name in messages; the key in started.json when `record` is set
 * @property {string} title the server's name in the "starting <title>" line of outLog
 * @property {string} noun 'broker' or 'server', in messages
 * @property {{dir: string, logs: string, outLog: string, pidFile: string, lock: string}} paths
 *   dir is the working directory; outLog gets the process's stdout and stderr
 * @property {string} host
 * @property {number} port
 * @property {string} address where clients connect, in messages and results
 * @property {string} addressKey the key of address in results: 'bootstrap', 'endpoint', 'url'
 * @property {(timeoutMs?: number) => Promise<boolean>} answers whether the server answers
 * @property {string[]} cmdline what the command line of the process holds (a guard against pid reuse)
 * @property {number} startTimeoutMs
 * @property {number} stopTimeoutMs
 * @property {(opts: {log: (msg: string) => void}) => ({version?: string, fetchMs?: number} | void)} prepare
 *   readies what a start needs (jars, config, storage) before each start
 * @property {() => string | null} [version] the version that runs, for results
 * @property {string} command
 * @property {() => string[]} args
 * @property {Record<string, string>} [env] added to the environment of the process
 * @property {string} readyLog the log that tells readiness (its end is shown when a start fails)
 * @property {(logOffset: number) => () => boolean | Promise<boolean>} ready a probe for readiness;
 *   logOffset is the size of readyLog before the start
 * @property {string} readyWhat what the server failed to do in time, e.g. 'log "Kafka Server started"'
 * @property {(pid: number) => Promise<void>} [afterReady] a last check; stops pid and throws if it fails
 * @property {boolean} [record] note the start in .cache/infra/started.json (for infra/down.mjs)
 * @property {boolean} [exclusive] the port is this instance's own (a private instance): a server that
 *   answers there and is not this one is an error, not a server to share
 */

/** @param {LocalServiceSpec} spec */
export function localService(spec) {
  const { name, noun, paths, address } = spec;
  const at = { [spec.addressKey]: address };
  const version = () => spec.version?.() ?? null;

  /** pid of the process herald started (from the pid file), if it is still alive. */
  function pid() {
    let p;
    try {
      p = Number.parseInt(fs.readFileSync(paths.pidFile, 'utf8'), 10);
    } catch {
      return null;
    }
    if (!pidAlive(p)) return null;
    const cmd = pidCmdline(p);
    // Guard against pid reuse: must be the server's process on our config.
    if (cmd.length && !spec.cmdline.every((arg) => cmd.includes(arg))) return null;
    return p;
  }

  async function status() {
    const p = pid();
    return { up: await spec.answers(), pid: p, ours: p !== null, ...at };
  }

  /** What this start wrote to the logs, for an error. */
  function startLogs(logOffset) {
    const text = `--- ${spec.readyLog} (last lines of this start) ---\n${tailSince(spec.readyLog, logOffset, 30)}`;
    if (spec.readyLog === paths.outLog) return text;
    return `${text}\n--- tail of ${paths.outLog} ---\n${tailFile(paths.outLog, 15)}`;
  }

  async function startUnlocked({ timeoutMs = spec.startTimeoutMs, log = () => {} } = {}) {
    const t0 = Date.now();
    const ours = pid();
    if (await portOpen(spec.port, spec.host)) {
      if (ours === null && spec.exclusive) {
        throw new Error(`${name}: ${address} is taken by a process herald did not start as ${name}`);
      }
      if (ours === null || (await spec.answers(5000))) {
        return { started: false, external: ours === null, pid: ours, ...at, ms: 0, version: version() };
      }
    }
    if (ours !== null) {
      // Our process is alive but does not answer (hung, or half shut down): replace it.
      log(`${name}: pid ${ours} is alive but ${address} does not answer; stopping it`);
      await killAndWait(ours, 'SIGTERM', 30_000);
    }
    fs.mkdirSync(paths.logs, { recursive: true });
    const prepared = (await spec.prepare({ log })) ?? {};
    const logOffset = fileSize(spec.readyLog);
    fs.appendFileSync(
      paths.outLog,
      `\n=== herald: starting ${spec.title} ${prepared.version ?? version() ?? ''} at ${new Date().toISOString()} ===\n`,
    );
    const out = fs.openSync(paths.outLog, 'a');
    let child;
    try {
      child = spawn(spec.command, spec.args(), {
        cwd: paths.dir,
        detached: true,
        stdio: ['ignore', out, out],
        env: { ...process.env, ...spec.env },
      });
    } finally {
      fs.closeSync(out);
    }
    child.unref();
    let spawnError = null;
    child.once('error', (e) => {
      spawnError = e;
    });
    if (child.pid) fs.writeFileSync(paths.pidFile, `${child.pid}\n`);
    const ready = spec.ready(logOffset);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await sleep(250);
      if (await ready()) break;
      const why = spawnError
        ? `could not run ${spec.command}: ${spawnError.message}`
        : !pidAlive(child.pid)
          ? `${noun} process ${child.pid} exited during start-up`
          : Date.now() > deadline
            ? `${noun} (pid ${child.pid}) did not ${spec.readyWhat} within ${timeoutMs / 1000}s`
            : null;
      if (why) {
        if (pidAlive(child.pid)) await killAndWait(child.pid, 'SIGKILL', 10_000);
        fs.rmSync(paths.pidFile, { force: true });
        throw new Error(`${name}: ${why}.\n${startLogs(logOffset)}`);
      }
    }
    await spec.afterReady?.(child.pid);
    const v = prepared.version ?? version();
    if (spec.record) recordStarted(name, { pid: child.pid, version: v, ...at });
    return {
      started: true,
      external: false,
      pid: child.pid,
      ...at,
      version: v,
      ms: Date.now() - t0,
      fetchMs: prepared.fetchMs ?? 0,
    };
  }

  async function stopUnlocked({ timeoutMs = spec.stopTimeoutMs, signal = 'SIGTERM' } = {}) {
    const t0 = Date.now();
    const p = pid();
    if (p === null) {
      if (await portOpen(spec.port, spec.host)) {
        throw new Error(
          `${name}: the ${noun} on ${address} was not started by herald ` +
            `(no live pid in ${paths.pidFile}); refusing to stop it`,
        );
      }
      if (spec.record) forgetStarted(name);
      return { stopped: false, pid: null, forced: false, ms: 0 };
    }
    const forced = await killAndWait(p, signal, timeoutMs);
    if (pidAlive(p)) throw new Error(`${name}: pid ${p} survived SIGKILL`);
    fs.rmSync(paths.pidFile, { force: true });
    if (spec.record) forgetStarted(name);
    return { stopped: true, pid: p, forced, ms: Date.now() - t0 };
  }

  return {
    pid,
    status,
    /** Starts the server unless one already answers (ours or not); resolves once it is ready. */
    start: (opts) => withLock(paths.lock, () => startUnlocked(opts)),
    /** Stops the server herald started: `signal`, then SIGKILL after timeoutMs. */
    stop: (opts) => withLock(paths.lock, () => stopUnlocked(opts)),
    /** stop() then start() under one lock; the data dir is kept. */
    restart: (opts = {}) =>
      withLock(paths.lock, async () => {
        const stop = await stopUnlocked({ signal: opts.signal });
        const start = await startUnlocked(opts);
        return { ...start, stop };
      }),
  };
}
