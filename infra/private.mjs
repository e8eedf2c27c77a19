// Private instances of the services, for the tests that stop or restart one: each runs on free
// ports of its own, in a directory of its own, is started and torn down by the process that owns
// it, and never touches the shared services (which may be the user's own, not started by herald).
//
//   const pg = await privateInstance('postgres', { ports: 1, requirements, create });
//   ... pg.restart() ...
//   await pg.destroy();
//
// What is shared by infra/kafka.mjs, elasticmq.mjs, postgres.mjs, nats.mjs and rabbitmq.mjs:
// - claimPort(): a free TCP port on 127.0.0.1, below the ephemeral range (so that no outgoing
//   connection takes it while the instance is down for a restart), claimed by a file in
//   <tmp>/herald-ports/<port> holding the owner's pid, so that parallel processes never pick the
//   same one; a claim whose owner died is free again.
// - a registry: every process an instance starts carries HERALD_PRIVATE=<id> in its environment;
//   destroy(), the owner's exit (normal, an exception, SIGINT/SIGTERM/SIGHUP), and the next
//   privateInstance() of any process after the owner was SIGKILLed, all kill what carries the
//   marker and remove the instance's directories. A record per live instance is kept in
//   .cache/private/<id>.json.
// Plain ESM, Node >= 20, no dependencies. The registry reads /proc (Linux).

import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CACHE_DIR, pidAlive } from './lib.mjs';

export const PRIVATE_DIR = path.join(CACHE_DIR, 'private');
const CLAIMS_DIR = path.join(os.tmpdir(), 'herald-ports');

/** A service that cannot run here (a binary or a user is missing): the test that needs it is skipped with `message`. */
export class ServiceUnavailable extends Error {
  constructor(service, why) {
    super(`a private ${service} cannot be started here: ${why}`);
    this.name = 'ServiceUnavailable';
    this.service = service;
    this.unavailable = true;
  }
}

// ---------------------------------------------------------------- ports

/**
 * Ports 10000 and up, ending 10011 below the first ephemeral port: the command-line tools of some
 * RabbitMQ versions listen on the node's distribution port + 10000..10010, which must stay out of
 * that range too.
 */
function portRange() {
  let ephemeral = 32768;
  try {
    ephemeral = Number.parseInt(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'), 10) || ephemeral;
  } catch {
    /* not Linux: the usual default */
  }
  const hi = Math.min(22_000, ephemeral - 10_011);
  return hi - 10_000 >= 1000 ? [10_000, hi] : [10_000, 22_000];
}

function bindable(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Takes the claim file of a port unless a live process holds it. */
function takeClaim(file) {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return true;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    const holder = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    if (pidAlive(holder)) return false;
    fs.rmSync(file, { force: true }); // its owner died: free again
  }
  return false;
}

/** A free port on 127.0.0.1, claimed for this process until releasePort() (or its exit). */
export async function claimPort() {
  if (!fs.existsSync(CLAIMS_DIR)) {
    fs.mkdirSync(CLAIMS_DIR, { recursive: true });
    try {
      fs.chmodSync(CLAIMS_DIR, 0o1777); // other users' tests claim ports here too
    } catch {
      /* someone else's directory */
    }
  }
  const [lo, hi] = portRange();
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = lo + crypto.randomInt(hi - lo);
    const file = path.join(CLAIMS_DIR, String(port));
    if (!takeClaim(file)) continue;
    if (await bindable(port)) return port;
    fs.rmSync(file, { force: true });
  }
  throw new Error(`no free port between ${lo} and ${hi} (claims in ${CLAIMS_DIR})`);
}

export function releasePort(port) {
  const file = path.join(CLAIMS_DIR, String(port));
  try {
    if (Number.parseInt(fs.readFileSync(file, 'utf8'), 10) === process.pid) fs.rmSync(file, { force: true });
  } catch {
    /* not claimed */
  }
}

// ---------------------------------------------------------------- processes of an instance

const MARKER = 'HERALD_PRIVATE';

/** The pids whose environment carries HERALD_PRIVATE=<id> (the instance's processes and their children). */
export function markedPids(id) {
  const marker = `${MARKER}=${id}`;
  const pids = [];
  let entries = [];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(marker)) pids.push(Number(entry));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return pids.filter(pidAlive);
}

function signalAll(pids, signal) {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

/** Blocks the thread for ms (only at exit, where nothing asynchronous runs any more). */
const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** The pids of `pids` still alive after up to ms. Synchronous. */
function waitGoneSync(pids, ms) {
  const deadline = Date.now() + ms;
  let left = pids.filter(pidAlive);
  while (left.length && Date.now() < deadline) {
    sleepSync(20);
    left = left.filter(pidAlive);
  }
  return left;
}

/**
 * Sends `signal` to every process of instance `id`, waits up to waitMs for them to exit, then
 * SIGKILLs what is left. Synchronous: it runs in exit handlers too.
 */
function killInstanceSync(id, signal, waitMs = 10_000) {
  const pids = markedPids(id);
  if (!pids.length) return;
  signalAll(pids, signal);
  const left = waitGoneSync(pids, waitMs);
  signalAll(left, 'SIGKILL');
  waitGoneSync(left, 5000);
}

// ---------------------------------------------------------------- registry

/** @type {Map<string, () => void>} id -> synchronous teardown, for the exit handlers */
const live = new Map();
let hooked = false;

function teardownAllSync() {
  for (const teardown of [...live.values()]) {
    try {
      teardown();
    } catch {
      /* best effort at exit */
    }
  }
}

function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', teardownAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      teardownAllSync();
      // Die of the signal as the process would have, unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

const recordFile = (id) => path.join(PRIVATE_DIR, `${id}.json`);

/**
 * Tears down the instances whose owner died without doing it (SIGKILLed, or the machine's
 * OOM killer): their processes are killed and their directories removed.
 */
export function sweepStale() {
  let claims = [];
  try {
    claims = fs.readdirSync(CLAIMS_DIR);
  } catch {
    /* none yet */
  }
  for (const port of claims) {
    try {
      const file = path.join(CLAIMS_DIR, port);
      if (!pidAlive(Number.parseInt(fs.readFileSync(file, 'utf8'), 10))) fs.rmSync(file, { force: true });
    } catch {
      /* taken meanwhile */
    }
  }
  let files = [];
  try {
    files = fs.readdirSync(PRIVATE_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return;
  }
  for (const file of files) {
    let record;
    try {
      record = JSON.parse(fs.readFileSync(path.join(PRIVATE_DIR, file), 'utf8'));
    } catch {
      continue; // being written
    }
    if (!record?.id || pidAlive(record.owner)) continue;
    killInstanceSync(record.id, record.signal ?? 'SIGKILL');
    for (const dir of record.dirs ?? []) fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(path.join(PRIVATE_DIR, file), { force: true });
  }
}

/**
 * @template {{start: (opts?: object) => Promise<unknown>}} T
 * @param {string} kind 'kafka', 'postgres', ...: in the id, the directory's name and messages
 * @param {object} spec
 * @param {number} [spec.ports] how many ports to claim
 * @param {() => string | null} [spec.requirements] why the service cannot run here, or null
 * @param {(id: string) => string} [spec.dir] makes the instance's directory (default .cache/private/<id>)
 * @param {NodeJS.Signals} [spec.signal] how its processes are stopped at teardown (then SIGKILL)
 * @param {(ctx: {id: string, dir: string, ports: number[], env: Record<string, string>}) => T | Promise<T>} spec.create
 *   the instance; every process it spawns gets `env` in its environment
 * @returns {Promise<T & {id: string, dir: string, ports: number[], startMs: number, destroy(): Promise<void>}>}
 */
export async function privateInstance(kind, { ports = 1, requirements = () => null, dir: makeDir, signal, create }) {
  const why = requirements();
  if (why) throw new ServiceUnavailable(kind, why);
  sweepStale();
  const t0 = Date.now();
  const id = `${kind}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  fs.mkdirSync(PRIVATE_DIR, { recursive: true });
  const claimed = [];
  const dirs = [];
  const teardown = () => {
    killInstanceSync(id, signal ?? 'SIGKILL');
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    for (const port of claimed) releasePort(port);
    fs.rmSync(recordFile(id), { force: true });
    live.delete(id);
  };
  hookExit();
  live.set(id, teardown);
  try {
    for (let i = 0; i < ports; i++) claimed.push(await claimPort());
    const dir = makeDir ? makeDir(id) : path.join(PRIVATE_DIR, id);
    fs.mkdirSync(dir, { recursive: true });
    dirs.push(dir);
    fs.writeFileSync(recordFile(id), `${JSON.stringify({ id, kind, owner: process.pid, dirs, signal })}\n`);
    const instance = await create({ id, dir, ports: claimed, env: { [MARKER]: id } });
    await instance.start();
    let destroyed = false;
    return {
      ...instance,
      id,
      dir,
      ports: claimed,
      startMs: Date.now() - t0,
      /** Kills every process of the instance and removes its files; idempotent. */
      async destroy() {
        if (destroyed) return;
        destroyed = true;
        teardown();
      },
    };
  } catch (error) {
    teardown();
    throw error;
  }
}
