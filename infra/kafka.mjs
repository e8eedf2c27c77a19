// A local single-node Kafka (KRaft, combined broker+controller) built from
// Maven Central jars, for development and tests.
//
//   import { startKafka, stopKafka, restartKafka, KAFKA_BOOTSTRAP } from '../infra/kafka.mjs';
//
// Plain ESM, Node >= 20, no dependencies. All state lives in <repo>/.cache/kafka:
//   libs/        every runtime jar (fetched once with mvn, see infra/kafka/pom.xml)
//   data/        log.dirs (topics + KRaft metadata; survives restarts)
//   logs/        server.log (log4j2), kafka.out (JVM stdout/stderr)
//   server.properties, cluster-id, kafka.pid, .lock

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  CACHE_DIR,
  forgetStarted,
  INFRA_DIR,
  pidAlive,
  pidCmdline,
  portOpen,
  recordStarted,
  run,
  sleep,
  tailFile,
  waitForExit,
  waitForPort,
  withLock,
} from './lib.mjs';

const intEnv = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number.parseInt(v, 10);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
};

export const DEFAULT_KAFKA_VERSION = '4.1.1';
export const FALLBACK_KAFKA_VERSION = '3.9.1';
/** Requested version; when unset, 4.1.1 with a fall-back to 3.9.1 if it cannot be fetched. */
const REQUESTED_VERSION = process.env.HERALD_KAFKA_VERSION || '';
export const KAFKA_HOST = '127.0.0.1';
export const KAFKA_PORT = intEnv('HERALD_KAFKA_PORT', 9092);
export const KAFKA_CONTROLLER_PORT = intEnv('HERALD_KAFKA_CONTROLLER_PORT', KAFKA_PORT + 1);
export const KAFKA_BOOTSTRAP = `${KAFKA_HOST}:${KAFKA_PORT}`;
const START_TIMEOUT_MS = intEnv('HERALD_KAFKA_START_TIMEOUT_MS', 120_000);
const READY_LINE = 'Kafka Server started';

const DIR = path.join(CACHE_DIR, 'kafka');
export const kafkaPaths = Object.freeze({
  dir: DIR,
  libs: path.join(DIR, 'libs'),
  versionMarker: path.join(DIR, 'libs', '.herald-kafka-version'),
  data: path.join(DIR, 'data'),
  logs: path.join(DIR, 'logs'),
  serverLog: path.join(DIR, 'logs', 'server.log'),
  outLog: path.join(DIR, 'logs', 'kafka.out'),
  config: path.join(DIR, 'server.properties'),
  clusterId: path.join(DIR, 'cluster-id'),
  pidFile: path.join(DIR, 'kafka.pid'),
  lock: path.join(DIR, '.lock'),
  pom: path.join(INFRA_DIR, 'kafka', 'pom.xml'),
  log4j: path.join(INFRA_DIR, 'kafka', 'log4j2.properties'),
});

const JAVA = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
const classpath = () => path.join(kafkaPaths.libs, '*');
const logProps = () => [`-Dlog4j2.configurationFile=${kafkaPaths.log4j}`, `-Dkafka.logs.dir=${kafkaPaths.logs}`];

// ---------------------------------------------------------------- jars

// The marker is "<version> <pom hash>": editing infra/kafka/pom.xml triggers a re-fetch.
const pomHash = () => crypto.createHash('sha256').update(fs.readFileSync(kafkaPaths.pom)).digest('hex').slice(0, 12);

function readMarker() {
  try {
    const [version, hash] = fs.readFileSync(kafkaPaths.versionMarker, 'utf8').trim().split(/\s+/);
    return version ? { version, hash } : null;
  } catch {
    return null;
  }
}

const installedVersion = () => readMarker()?.version ?? null;

function fetchJars(version) {
  const tmp = `${kafkaPaths.libs}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const r = run(
    'mvn',
    ['-B', '-q', '-f', kafkaPaths.pom, 'package', `-Dkafka.version=${version}`, `-Dherald.kafka.libs=${tmp}`],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const jars = fs.existsSync(tmp) ? fs.readdirSync(tmp) : [];
  if (!r.ok || !jars.some((f) => f.startsWith(`kafka_2.13-${version}`))) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const tail = r.out.split('\n').slice(-25).join('\n');
    throw new Error(`mvn could not fetch Kafka ${version} (exit ${r.code}):\n${tail}`);
  }
  fs.writeFileSync(path.join(tmp, '.herald-kafka-version'), `${version} ${pomHash()}\n`);
  fs.rmSync(kafkaPaths.libs, { recursive: true, force: true });
  fs.renameSync(tmp, kafkaPaths.libs);
}

/**
 * Makes sure .cache/kafka/libs holds the broker jars (runs mvn only if missing
 * or if HERALD_KAFKA_VERSION asks for another version).
 * @returns {{version: string, fetched: boolean, ms: number}}
 */
export function ensureKafkaJars({ log = () => {} } = {}) {
  const have = readMarker();
  if (have && have.hash === pomHash() && (!REQUESTED_VERSION || REQUESTED_VERSION === have.version)) {
    return { version: have.version, fetched: false, ms: 0 };
  }
  fs.mkdirSync(DIR, { recursive: true });
  const t0 = Date.now();
  const wanted = REQUESTED_VERSION || DEFAULT_KAFKA_VERSION;
  log(`kafka: fetching org.apache.kafka:kafka_2.13:${wanted} jars with mvn into ${kafkaPaths.libs} ...`);
  try {
    fetchJars(wanted);
    return { version: wanted, fetched: true, ms: Date.now() - t0 };
  } catch (e) {
    if (REQUESTED_VERSION) throw e;
    log(`kafka: ${e.message.split('\n')[0]}; falling back to ${FALLBACK_KAFKA_VERSION}`);
    fetchJars(FALLBACK_KAFKA_VERSION);
    return { version: FALLBACK_KAFKA_VERSION, fetched: true, ms: Date.now() - t0 };
  }
}

// ---------------------------------------------------------------- config

function clusterId() {
  try {
    const id = fs.readFileSync(kafkaPaths.clusterId, 'utf8').trim();
    if (id) return id;
  } catch {
    /* generate below */
  }
  let id;
  do id = crypto.randomBytes(16).toString('base64url');
  while (id.startsWith('-'));
  fs.writeFileSync(kafkaPaths.clusterId, `${id}\n`);
  return id;
}

function writeConfig() {
  const props = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${KAFKA_HOST}:${KAFKA_CONTROLLER_PORT}`,
    listeners: `PLAINTEXT://${KAFKA_HOST}:${KAFKA_PORT},CONTROLLER://${KAFKA_HOST}:${KAFKA_CONTROLLER_PORT}`,
    'advertised.listeners': `PLAINTEXT://${KAFKA_HOST}:${KAFKA_PORT}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': kafkaPaths.data,
    'num.partitions': 3,
    'auto.create.topics.enable': true,
    'default.replication.factor': 1,
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'min.insync.replicas': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'num.network.threads': 2,
    'num.io.threads': 4,
  };
  const text =
    '# Generated by infra/kafka.mjs on every start; edit writeConfig() there, not this file.\n' +
    Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') +
    '\n';
  fs.writeFileSync(kafkaPaths.config, text);
}

function formatStorage() {
  if (fs.existsSync(path.join(kafkaPaths.data, 'meta.properties'))) return;
  const r = run(JAVA, [
    ...logProps(),
    '-cp',
    classpath(),
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId(),
    '-c',
    kafkaPaths.config,
    '--ignore-formatted',
  ]);
  if (!r.ok) throw new Error(`kafka: storage format failed (exit ${r.code}):\n${r.out}`);
}

// ---------------------------------------------------------------- process

/** pid of the broker herald started (from kafka.pid), if it is still alive. */
export function kafkaPid() {
  let pid;
  try {
    pid = Number.parseInt(fs.readFileSync(kafkaPaths.pidFile, 'utf8'), 10);
  } catch {
    return null;
  }
  if (!pidAlive(pid)) return null;
  const cmd = pidCmdline(pid);
  // Guard against pid reuse: must be a kafka.Kafka JVM on our config file.
  if (cmd.length && !(cmd.includes('kafka.Kafka') && cmd.includes(kafkaPaths.config))) return null;
  return pid;
}

/** @returns {Promise<{up: boolean, pid: number|null, ours: boolean, bootstrap: string}>} */
export async function kafkaStatus() {
  const pid = kafkaPid();
  const up = await portOpen(KAFKA_PORT, KAFKA_HOST);
  return { up, pid, ours: pid !== null, bootstrap: KAFKA_BOOTSTRAP };
}

async function waitReady(child, logOffset, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let pos = logOffset;
  let carry = '';
  let spawnError = null;
  child.once('error', (e) => {
    spawnError = e;
  });
  for (;;) {
    await sleep(250);
    let size = 0;
    try {
      size = fs.statSync(kafkaPaths.serverLog).size;
    } catch {
      /* not yet */
    }
    if (size < pos) {
      pos = 0;
      carry = '';
    } // log rolled over
    if (size > pos) {
      const fd = fs.openSync(kafkaPaths.serverLog, 'r');
      const buf = Buffer.alloc(size - pos);
      fs.readSync(fd, buf, 0, buf.length, pos);
      fs.closeSync(fd);
      pos = size;
      const text = carry + buf.toString('utf8');
      if (text.includes(READY_LINE)) return;
      carry = text.slice(-READY_LINE.length);
    }
    const why = spawnError
      ? `could not run ${JAVA}: ${spawnError.message}`
      : !pidAlive(child.pid)
        ? `broker process ${child.pid} exited during start-up`
        : Date.now() > deadline
          ? `broker (pid ${child.pid}) did not log "${READY_LINE}" within ${timeoutMs / 1000}s`
          : null;
    if (why) {
      if (pidAlive(child.pid)) await killAndWait(child.pid, 'SIGKILL', 10_000);
      throw new Error(
        `kafka: ${why}.\n` +
          `--- ${kafkaPaths.serverLog} (last lines of this start) ---\n${tailSince(kafkaPaths.serverLog, logOffset, 30)}\n` +
          `--- tail of ${kafkaPaths.outLog} ---\n${tailFile(kafkaPaths.outLog, 15)}`,
      );
    }
  }
}

/** Last n lines written to file at or after byte offset `from` (the log may have rolled). */
function tailSince(file, from, n) {
  try {
    const size = fs.statSync(file).size;
    const start = size < from ? 0 : Math.max(from, size - 64 * 1024);
    const buf = Buffer.alloc(size - start);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, buf, 0, buf.length, start);
    } finally {
      fs.closeSync(fd);
    }
    const text = buf.toString('utf8').trimEnd();
    return text ? text.split('\n').slice(-n).join('\n') : '(nothing logged)';
  } catch {
    return `(no ${file})`;
  }
}

async function killAndWait(pid, signal, timeoutMs) {
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

async function startUnlocked({ timeoutMs = START_TIMEOUT_MS, log = () => {} } = {}) {
  const t0 = Date.now();
  let pid = kafkaPid();
  const up = await portOpen(KAFKA_PORT, KAFKA_HOST);
  if (up) {
    return {
      started: false,
      external: pid === null,
      pid,
      bootstrap: KAFKA_BOOTSTRAP,
      ms: 0,
      version: installedVersion(),
    };
  }
  if (pid !== null) {
    // Our JVM is alive but not listening (hung, or half shut down): replace it.
    log(`kafka: pid ${pid} is alive but ${KAFKA_BOOTSTRAP} does not answer; stopping it`);
    await killAndWait(pid, 'SIGTERM', 30_000);
  }
  const jars = ensureKafkaJars({ log });
  fs.mkdirSync(kafkaPaths.logs, { recursive: true });
  fs.mkdirSync(kafkaPaths.data, { recursive: true });
  writeConfig();
  formatStorage();

  let logOffset = 0;
  try {
    logOffset = fs.statSync(kafkaPaths.serverLog).size;
  } catch {
    /* new log */
  }
  fs.appendFileSync(
    kafkaPaths.outLog,
    `\n=== herald: starting Kafka ${jars.version} at ${new Date().toISOString()} ===\n`,
  );
  const out = fs.openSync(kafkaPaths.outLog, 'a');
  const heap = (process.env.HERALD_KAFKA_HEAP_OPTS || '-Xms512m -Xmx1g').split(/\s+/).filter(Boolean);
  let child;
  try {
    child = spawn(
      JAVA,
      [
        ...heap,
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-XX:InitiatingHeapOccupancyPercent=35',
        '-Djava.awt.headless=true',
        ...logProps(),
        '-cp',
        classpath(),
        'kafka.Kafka',
        kafkaPaths.config,
      ],
      { cwd: DIR, detached: true, stdio: ['ignore', out, out] },
    );
  } finally {
    fs.closeSync(out);
  }
  child.unref();
  if (child.pid) fs.writeFileSync(kafkaPaths.pidFile, `${child.pid}\n`);
  await waitReady(child, logOffset, timeoutMs);
  if (!(await waitForPort(KAFKA_PORT, 15_000, KAFKA_HOST))) {
    await killAndWait(child.pid, 'SIGTERM', 30_000);
    throw new Error(`kafka: broker logged "${READY_LINE}" but ${KAFKA_BOOTSTRAP} does not answer`);
  }
  pid = child.pid;
  recordStarted('kafka', { pid, version: jars.version, bootstrap: KAFKA_BOOTSTRAP });
  return {
    started: true,
    external: false,
    pid,
    bootstrap: KAFKA_BOOTSTRAP,
    version: jars.version,
    ms: Date.now() - t0,
    fetchMs: jars.ms,
  };
}

async function stopUnlocked({ timeoutMs = 60_000, signal = 'SIGTERM' } = {}) {
  const t0 = Date.now();
  const pid = kafkaPid();
  if (pid === null) {
    if (await portOpen(KAFKA_PORT, KAFKA_HOST)) {
      throw new Error(
        `kafka: the broker on ${KAFKA_BOOTSTRAP} was not started by herald ` +
          `(no live pid in ${kafkaPaths.pidFile}); refusing to stop it`,
      );
    }
    forgetStarted('kafka');
    return { stopped: false, pid: null, forced: false, ms: 0 };
  }
  const forced = await killAndWait(pid, signal, timeoutMs);
  if (pidAlive(pid)) throw new Error(`kafka: pid ${pid} survived SIGKILL`);
  fs.rmSync(kafkaPaths.pidFile, { force: true });
  forgetStarted('kafka');
  return { stopped: true, pid, forced, ms: Date.now() - t0 };
}

/**
 * Starts the broker unless one already answers on KAFKA_BOOTSTRAP (ours or not).
 * Resolves once server.log says "Kafka Server started". Safe to call from
 * parallel test processes (serialised by a lock file).
 * @param {{timeoutMs?: number, log?: (msg: string) => void}} [opts]
 */
export function startKafka(opts) {
  return withLock(kafkaPaths.lock, () => startUnlocked(opts));
}

/**
 * Stops the broker herald started: `signal` (default SIGTERM, i.e. a clean
 * shutdown), waits for the JVM to exit, SIGKILL after timeoutMs (default 60 s).
 * Pass { signal: 'SIGKILL' } to simulate a crash. No-op if nothing is running;
 * throws if a broker not started by herald holds the port.
 * @param {{timeoutMs?: number, signal?: NodeJS.Signals}} [opts]
 */
export function stopKafka(opts) {
  return withLock(kafkaPaths.lock, () => stopUnlocked(opts));
}

/** Hard crash: SIGKILL, no clean shutdown. */
export function killKafka() {
  return stopKafka({ signal: 'SIGKILL' });
}

/**
 * stopKafka() then startKafka(); the data dir is kept, so topics and committed
 * offsets survive. Pass { signal: 'SIGKILL' } for a crash-restart.
 * @param {{timeoutMs?: number, signal?: NodeJS.Signals, log?: (msg: string) => void}} [opts]
 */
export function restartKafka(opts = {}) {
  return withLock(kafkaPaths.lock, async () => {
    const stop = await stopUnlocked({ signal: opts.signal });
    const start = await startUnlocked(opts);
    return { ...start, stop };
  });
}

/**
 * Runs a Kafka CLI class from the same jars, e.g.
 * runKafkaTool('org.apache.kafka.tools.TopicCommand', ['--bootstrap-server', KAFKA_BOOTSTRAP, '--list']).
 * @returns {{ok: boolean, code: number|null, out: string}}
 */
export function runKafkaTool(mainClass, args = [], { timeoutMs = 60_000 } = {}) {
  return run(JAVA, ['-cp', classpath(), mainClass, ...args], { timeout: timeoutMs });
}
