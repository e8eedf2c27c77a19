// A local Java server run from jars fetched off Maven Central: what infra/kafka.mjs and
// infra/elasticmq.mjs share. javaService(spec) fetches the jars once with mvn into
// <cache>/<name>/libs (again when the pom or the wanted version changes), starts the JVM detached
// with a pid file, waits until it is ready, and stops it only if herald started it; start, stop
// and restart hold a lock file, so parallel test processes take turns.
// Plain ESM, Node >= 20, no dependencies.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  CACHE_DIR,
  forgetStarted,
  killAndWait,
  pidAlive,
  pidCmdline,
  portOpen,
  readRange,
  recordStarted,
  run,
  sleep,
  tailFile,
  tailSince,
  withLock,
} from './lib.mjs';

export const JAVA = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';

/** The first 12 hex digits of the SHA-256 of text (a pom's fingerprint in the version marker). */
export const shortHash = (text) => crypto.createHash('sha256').update(text).digest('hex').slice(0, 12);

/** JVM options from the environment variable `name` (split on white space), or from dflt. */
export const envWords = (name, dflt) => (process.env[name] || dflt).split(/\s+/).filter(Boolean);

/**
 * The files of service `name`, under <cache>/<name>: libs/ (the jars, with the version marker),
 * data/, logs/ (logs/<name>.out is the JVM's stdout and stderr), <name>.pid and .lock; `more(dir)`
 * adds the service's own (config and pom at least).
 */
export function servicePaths(name, more) {
  const dir = path.join(CACHE_DIR, name);
  return Object.freeze({
    dir,
    libs: path.join(dir, 'libs'),
    versionMarker: path.join(dir, 'libs', `.herald-${name}-version`),
    data: path.join(dir, 'data'),
    logs: path.join(dir, 'logs'),
    outLog: path.join(dir, 'logs', `${name}.out`),
    pidFile: path.join(dir, `${name}.pid`),
    lock: path.join(dir, '.lock'),
    ...more(dir),
  });
}

/**
 * A readiness probe: true once `line` has been written to file past byte offset `from`. Each call
 * reads only what is new; a file that got shorter has rolled over and is read from its start.
 */
export function logSays(file, from, line) {
  let pos = from;
  let carry = '';
  return () => {
    let size = 0;
    try {
      size = fs.statSync(file).size;
    } catch {
      /* not yet */
    }
    if (size < pos) {
      pos = 0;
      carry = '';
    }
    if (size === pos) return false;
    const text = carry + readRange(file, pos, size - pos).toString('utf8');
    pos = size;
    carry = text.slice(-line.length);
    return text.includes(line);
  };
}

/**
 * @typedef {object} JavaServiceSpec
 * @property {string} name key in started.json, prefix of messages, and `libs/.herald-<name>-version`
 * @property {string} title the server's name in the "starting <title> <version>" line of outLog
 * @property {string} noun 'broker' or 'server', in messages
 * @property {{dir: string, libs: string, versionMarker: string, data: string, logs: string,
 *   outLog: string, config: string, pidFile: string, lock: string, pom: string}} paths
 * @property {string} artifact groupId:artifactId of the server's jar
 * @property {string[]} versions the versions to fetch, in order: the next is tried when one fails
 * @property {(version: string) => boolean} accepts whether the jars in libs, of this version, do
 * @property {() => string} pomHash the pom's fingerprint: the jars are fetched again when it changes
 * @property {(version: string, libs: string) => string[]} pom readies paths.pom to copy the jars of
 *   `version` into `libs`; returns mvn's arguments after `package`
 * @property {string} host
 * @property {number} port
 * @property {string} address where clients connect, in messages and results
 * @property {string} addressKey the key of address in results: 'bootstrap', 'endpoint'
 * @property {(timeoutMs?: number) => Promise<boolean>} answers whether the server answers
 * @property {string[]} cmdline what the command line of the server's JVM holds (a guard against pid reuse)
 * @property {number} startTimeoutMs
 * @property {number} stopTimeoutMs
 * @property {() => void} prepare writes the config (and whatever else a start needs) before each start
 * @property {() => string[]} javaArgs
 * @property {string} readyLog the log that tells readiness (its end is shown when a start fails)
 * @property {(logOffset: number) => () => boolean | Promise<boolean>} ready a probe for readiness;
 *   logOffset is the size of readyLog before the start
 * @property {string} readyWhat what the server failed to do in time, e.g. 'log "Kafka Server started"'
 * @property {(pid: number) => Promise<void>} [afterReady] a last check; stops pid and throws if it fails
 */

/** @param {JavaServiceSpec} spec */
export function javaService(spec) {
  const { name, noun, paths, address } = spec;
  const at = { [spec.addressKey]: address };

  function readMarker() {
    try {
      const [version, hash] = fs.readFileSync(paths.versionMarker, 'utf8').trim().split(/\s+/);
      return version ? { version, hash } : null;
    } catch {
      return null;
    }
  }

  function fetchJars(version) {
    const tmp = `${paths.libs}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    const args = spec.pom(version, tmp);
    const r = run('mvn', ['-B', '-q', '-f', paths.pom, 'package', ...args], { maxBuffer: 64 * 1024 * 1024 });
    const jars = fs.existsSync(tmp) ? fs.readdirSync(tmp) : [];
    const jar = `${spec.artifact.split(':')[1]}-${version}`;
    if (!r.ok || !jars.some((f) => f.startsWith(jar))) {
      fs.rmSync(tmp, { recursive: true, force: true });
      const why = /spawnSync mvn ENOENT/.test(r.out) ? 'mvn is not on the PATH' : `exit ${r.code}`;
      const tail = r.out
        .replace(/\x1b\[[0-9;]*m/g, '')
        .split('\n')
        .slice(-25)
        .join('\n');
      throw new Error(
        `mvn could not fetch ${spec.artifact}:${version} from Maven Central (${why}); see ${paths.pom}:\n${tail}`,
      );
    }
    fs.writeFileSync(path.join(tmp, path.basename(paths.versionMarker)), `${version} ${spec.pomHash()}\n`);
    fs.rmSync(paths.libs, { recursive: true, force: true });
    fs.renameSync(tmp, paths.libs);
  }

  /** @returns {{version: string, fetched: boolean, ms: number}} */
  function ensureJars({ log = () => {} } = {}) {
    const have = readMarker();
    if (have && have.hash === spec.pomHash() && spec.accepts(have.version)) {
      return { version: have.version, fetched: false, ms: 0 };
    }
    fs.mkdirSync(paths.dir, { recursive: true });
    const t0 = Date.now();
    const [first, ...fallbacks] = spec.versions;
    log(`${name}: fetching ${spec.artifact}:${first} jars with mvn into ${paths.libs} ...`);
    for (let version = first; ; ) {
      try {
        fetchJars(version);
        return { version, fetched: true, ms: Date.now() - t0 };
      } catch (e) {
        const next = fallbacks.shift();
        if (next === undefined) throw e;
        log(`${name}: ${e.message.split('\n')[0]}; falling back to ${next}`);
        version = next;
      }
    }
  }

  /** pid of the JVM herald started (from the pid file), if it is still alive. */
  function pid() {
    let p;
    try {
      p = Number.parseInt(fs.readFileSync(paths.pidFile, 'utf8'), 10);
    } catch {
      return null;
    }
    if (!pidAlive(p)) return null;
    const cmd = pidCmdline(p);
    // Guard against pid reuse: must be the server's JVM on our config file.
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
    if ((await portOpen(spec.port, spec.host)) && (ours === null || (await spec.answers(5000)))) {
      return {
        started: false,
        external: ours === null,
        pid: ours,
        ...at,
        ms: 0,
        version: readMarker()?.version ?? null,
      };
    }
    if (ours !== null) {
      // Our JVM is alive but does not answer (hung, or half shut down): replace it.
      log(`${name}: pid ${ours} is alive but ${address} does not answer; stopping it`);
      await killAndWait(ours, 'SIGTERM', 30_000);
    }
    const jars = ensureJars({ log });
    fs.mkdirSync(paths.logs, { recursive: true });
    fs.mkdirSync(paths.data, { recursive: true });
    spec.prepare();
    let logOffset = 0;
    try {
      logOffset = fs.statSync(spec.readyLog).size;
    } catch {
      /* new log */
    }
    fs.appendFileSync(
      paths.outLog,
      `\n=== herald: starting ${spec.title} ${jars.version} at ${new Date().toISOString()} ===\n`,
    );
    const out = fs.openSync(paths.outLog, 'a');
    let child;
    try {
      child = spawn(JAVA, spec.javaArgs(), { cwd: paths.dir, detached: true, stdio: ['ignore', out, out] });
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
        ? `could not run ${JAVA}: ${spawnError.message}`
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
    recordStarted(name, { pid: child.pid, version: jars.version, ...at });
    return {
      started: true,
      external: false,
      pid: child.pid,
      ...at,
      version: jars.version,
      ms: Date.now() - t0,
      fetchMs: jars.ms,
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
      forgetStarted(name);
      return { stopped: false, pid: null, forced: false, ms: 0 };
    }
    const forced = await killAndWait(p, signal, timeoutMs);
    if (pidAlive(p)) throw new Error(`${name}: pid ${p} survived SIGKILL`);
    fs.rmSync(paths.pidFile, { force: true });
    forgetStarted(name);
    return { stopped: true, pid: p, forced, ms: Date.now() - t0 };
  }

  return {
    ensureJars,
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
