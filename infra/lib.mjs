// Shared helpers for infra/up.mjs, infra/down.mjs, infra/service.mjs and the services on it.
// Plain ESM, Node >= 20, no dependencies.

import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const INFRA_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.dirname(INFRA_DIR);
/** Git-ignored cache root: <repo>/.cache (override with HERALD_CACHE_DIR). */
export const CACHE_DIR = process.env.HERALD_CACHE_DIR
  ? path.resolve(process.env.HERALD_CACHE_DIR)
  : path.join(REPO_ROOT, '.cache');
export const STATE_FILE = path.join(CACHE_DIR, 'infra', 'started.json');
/** The pid file of the nats-server infra/up.mjs starts (read by infra/down.mjs). */
export const NATS_PID_FILE = path.join(CACHE_DIR, 'infra', 'nats.pid');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A positive integer from the environment variable `name`, or dflt when it is unset or empty. */
export function intEnv(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number.parseInt(v, 10);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Resolves true if a TCP connection to host:port succeeds within timeoutMs. */
export function portOpen(port, host = '127.0.0.1', timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Polls until the port answers (true) or timeoutMs elapses (false). */
export async function waitForPort(port, timeoutMs, host = '127.0.0.1') {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(port, host)) return true;
    await sleep(300);
  }
  return portOpen(port, host);
}

/** Runs a command synchronously; returns { ok, code, out } (stdout+stderr). */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim();
  return { ok: r.status === 0 && !r.error, code: r.status, out };
}

/** Runs a command without blocking the event loop; resolves { ok, code, out } (stdout+stderr). */
export function runAsync(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, ...opts }, (error, stdout, stderr) => {
      const out = `${stdout ?? ''}${stderr ?? ''}${error && error.code === 'ENOENT' ? String(error) : ''}`.trim();
      resolve({ ok: !error, code: error ? (typeof error.code === 'number' ? error.code : null) : 0, out });
    });
  });
}

// ---------- process helpers ----------

/** True if pid exists and is not a zombie. */
export function pidAlive(pid) {
  if (!pid || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return e.code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
  } catch {
    // no /proc (or raced with exit): trust kill(0)
  }
  return true;
}

export function pidCmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Waits until pid has exited; returns true if it did within timeoutMs. */
export async function waitForExit(pid, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await sleep(200);
  }
  return !pidAlive(pid);
}

/**
 * Sends signal to pid and waits up to timeoutMs for it to exit, then SIGKILLs it (waiting up to
 * 10 s more). Returns true only if SIGKILL was needed.
 */
export async function killAndWait(pid, signal, timeoutMs) {
  try {
    process.kill(pid, signal);
  } catch {
    return false;
  }
  if (await waitForExit(pid, timeoutMs)) return false;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  await waitForExit(pid, 10_000);
  return true; // had to force
}

// ---------- state file: which services did herald infra start? ----------

export function readState() {
  try {
    const s = JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
    return s && typeof s === 'object' && s.services ? s : { services: {} };
  } catch {
    return { services: {} };
  }
}

export function writeState(state) {
  fs.mkdirSync(path.dirname(STATE_FILE), { recursive: true });
  const tmp = `${STATE_FILE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(tmp, STATE_FILE);
}

export function recordStarted(name, info) {
  const s = readState();
  s.services[name] = { ...info, startedAt: new Date().toISOString() };
  writeState(s);
}

export function forgetStarted(name) {
  const s = readState();
  if (name in s.services) {
    delete s.services[name];
    writeState(s);
  }
}

// ---------- a cross-process lock (tests may run in parallel processes) ----------

/**
 * Runs fn while holding an exclusive lock file. Stale locks (holder dead, or
 * older than staleMs) are broken. Waits up to waitMs for the lock.
 */
export async function withLock(lockFile, fn, { waitMs = 15 * 60_000, staleMs = 15 * 60_000 } = {}) {
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = fs.openSync(lockFile, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let holder = 0;
      let age = 0;
      try {
        holder = Number.parseInt(fs.readFileSync(lockFile, 'utf8'), 10);
        age = Date.now() - fs.statSync(lockFile).mtimeMs;
      } catch {
        continue; // vanished between open and read: retry
      }
      if (holder === process.pid) {
        throw new Error(`lock ${lockFile} is already held by this process (re-entrant call?)`);
      }
      if ((holder && !pidAlive(holder)) || age > staleMs) {
        try {
          fs.unlinkSync(lockFile);
        } catch {
          /* someone else broke it */
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for lock ${lockFile} (held by pid ${holder})`);
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    try {
      if (Number.parseInt(fs.readFileSync(lockFile, 'utf8'), 10) === process.pid) fs.unlinkSync(lockFile);
    } catch {
      /* already gone */
    }
  }
}

/** Last n lines of a file (reads at most the last 64 KiB). */
export function tailFile(file, n = 40) {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return buf
        .toString('utf8')
        .split('\n')
        .slice(-n - 1)
        .join('\n')
        .trimEnd();
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return `(no ${file})`;
  }
}

/**
 * The last n lines written to file at or after byte offset `from` (at most 64 KiB are read); if the
 * file is now shorter than `from` (it rolled over), the last n lines of the file.
 */
export function tailSince(file, from, n) {
  try {
    const size = fs.statSync(file).size;
    const start = Math.max(size < from ? 0 : from, size - 64 * 1024);
    const text = readRange(file, start, size - start)
      .toString('utf8')
      .trimEnd();
    return text ? text.split('\n').slice(-n).join('\n') : '(nothing logged)';
  } catch {
    return `(no ${file})`;
  }
}

/** `length` bytes of file from byte offset `start`. */
export function readRange(file, start, length) {
  const buf = Buffer.alloc(length);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, buf, 0, length, start);
  } finally {
    fs.closeSync(fd);
  }
  return buf;
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

/** The size of file in bytes, 0 if it does not exist yet (where a readiness probe starts reading). */
export function fileSize(file) {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The first of `paths` that is an executable file, or null. */
export function firstExecutable(paths) {
  for (const p of paths) {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** Where `bin` is on the PATH (symbolic links resolved), or null. */
export function onPath(bin) {
  const found = firstExecutable(
    (process.env.PATH ?? '')
      .split(path.delimiter)
      .filter(Boolean)
      .map((d) => path.join(d, bin)),
  );
  return found && fs.realpathSync(found);
}
