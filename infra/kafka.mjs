// Local Kafka brokers (KRaft) built from Maven Central jars, for development and tests.
//
//   import { startKafka, stopKafka, restartKafka, KAFKA_BOOTSTRAP } from '../infra/kafka.mjs';
//   import { privateKafka } from '../infra/kafka.mjs';   // a broker of a test's own
//
// Plain ESM, Node >= 20, no dependencies. The default broker (infra/up.mjs, `npm test`) is a
// single node, broker and controller, on 127.0.0.1:9092; its state lives in <repo>/.cache/kafka:
//   libs/        every runtime jar (fetched once with mvn, see infra/kafka/pom.xml), shared by every broker
//   data/        log.dirs (topics + KRaft metadata; survives restarts)
//   logs/        server.log (log4j2), kafka.out (JVM stdout/stderr)
//   server.properties, cluster-id, kafka.pid, .lock
// kafkaBroker() makes any other broker: its own ports, node id, directory (the same files), and
// the controller quorum it votes in; several brokers given one clusterId and the same voters
// form one cluster. privateKafka() starts one on free ports in .cache/private/ for a test that
// stops or restarts it (infra/private.mjs).

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { envWords, instancePaths, JAVA, javaJars, javaService, servicePaths, shortHash } from './java-service.mjs';
import { CACHE_DIR, INFRA_DIR, intEnv, killAndWait, logSays, portOpen, run, waitForPort } from './lib.mjs';
import { privateInstance } from './private.mjs';

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

const brokerFiles = (dir) => ({
  serverLog: path.join(dir, 'logs', 'server.log'),
  config: path.join(dir, 'server.properties'),
  clusterId: path.join(dir, 'cluster-id'),
});

export const kafkaPaths = servicePaths('kafka', (dir) => ({
  ...brokerFiles(dir),
  pom: path.join(INFRA_DIR, 'kafka', 'pom.xml'),
  log4j: path.join(INFRA_DIR, 'kafka', 'log4j2.properties'),
}));

/** The jars every broker runs from, in .cache/kafka/libs. */
const jars = javaJars({
  name: 'kafka',
  paths: kafkaPaths,
  artifact: 'org.apache.kafka:kafka_2.13',
  // When unset, 4.1.1 with a fall-back to 3.9.1 if it cannot be fetched; any version will do then.
  versions: REQUESTED_VERSION ? [REQUESTED_VERSION] : [DEFAULT_KAFKA_VERSION, FALLBACK_KAFKA_VERSION],
  accepts: (version) => !REQUESTED_VERSION || version === REQUESTED_VERSION,
  // The marker is "<version> <pom hash>": editing infra/kafka/pom.xml triggers a re-fetch.
  pomHash: () => shortHash(fs.readFileSync(kafkaPaths.pom)),
  pom: (version, libs) => [`-Dkafka.version=${version}`, `-Dherald.kafka.libs=${libs}`],
});

const logProps = (logs) => [`-Dlog4j2.configurationFile=${kafkaPaths.log4j}`, `-Dkafka.logs.dir=${logs}`];

/** A new KRaft cluster id (what `kafka-storage random-uuid` prints: 16 random bytes, base64url). */
export function newClusterId() {
  let id;
  do id = crypto.randomBytes(16).toString('base64url');
  while (id.startsWith('-'));
  return id;
}

/**
 * @typedef {object} KafkaBrokerOptions
 * @property {string} [name] in messages (default 'kafka')
 * @property {string} [dir] its directory (default .cache/<name>)
 * @property {number} port the client listener, PLAINTEXT://127.0.0.1:<port>
 * @property {number} [controllerPort] the controller listener (default port + 1)
 * @property {number} [nodeId] node.id (default 1)
 * @property {{id: number, host?: string, port: number}[]} [voters] the controller quorum (default:
 *   this node alone); every node of a cluster gets the same list
 * @property {string} [clusterId] shared by the nodes of a cluster (default: one of its own, kept in <dir>/cluster-id)
 * @property {number} [replicationFactor] for new topics and the internal topics (default 1)
 * @property {number} [minInsyncReplicas] (default 1)
 * @property {{name: string, host: string, port: number}[]} [listeners] more client listeners (plaintext), each
 *   advertised as its own host:port (e.g. an address a network namespace reaches)
 * @property {Record<string, string | number | boolean>} [props] more server.properties
 * @property {string[]} [formatArgs] more arguments to the storage format at the first start (e.g.
 *   `--add-scram SCRAM-SHA-256=[name=u,password=p]`)
 * @property {string[]} [heapOpts] the JVM's heap options
 * @property {Record<string, string>} [env] added to the JVM's environment
 * @property {boolean} [record] note it in .cache/infra/started.json (the default broker only)
 * @property {boolean} [exclusive] its port is its own: something else answering there is an error
 */

/** One Kafka broker (KRaft, broker and controller roles) and what runs it. @param {KafkaBrokerOptions} o */
export function kafkaBroker(o) {
  const name = o.name ?? 'kafka';
  const host = KAFKA_HOST;
  const { port } = o;
  const controllerPort = o.controllerPort ?? port + 1;
  const nodeId = o.nodeId ?? 1;
  const voters = o.voters ?? [{ id: nodeId, host, port: controllerPort }];
  const bootstrap = `${host}:${port}`;
  const paths = instancePaths(o.dir ?? path.join(CACHE_DIR, name), 'kafka', brokerFiles);
  const replication = o.replicationFactor ?? 1;
  const minIsr = o.minInsyncReplicas ?? 1;
  const extra = o.listeners ?? [];
  const listed = (list) => list.map((l) => `,${l.name}://${l.host}:${l.port}`).join('');

  function clusterId() {
    if (o.clusterId) return o.clusterId;
    try {
      const id = fs.readFileSync(paths.clusterId, 'utf8').trim();
      if (id) return id;
    } catch {
      /* generate below */
    }
    const id = newClusterId();
    fs.writeFileSync(paths.clusterId, `${id}\n`);
    return id;
  }

  function writeConfig() {
    const props = {
      'process.roles': 'broker,controller',
      'node.id': nodeId,
      'controller.quorum.voters': voters.map((v) => `${v.id}@${v.host ?? host}:${v.port}`).join(','),
      listeners: `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}${listed(extra)}`,
      'advertised.listeners': `PLAINTEXT://${host}:${port}${listed(extra)}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': `CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${extra.map((l) => `,${l.name}:PLAINTEXT`).join('')}`,
      'log.dirs': paths.data,
      'num.partitions': 3,
      'auto.create.topics.enable': true,
      'default.replication.factor': replication,
      'offsets.topic.replication.factor': replication,
      'transaction.state.log.replication.factor': replication,
      'transaction.state.log.min.isr': minIsr,
      'min.insync.replicas': minIsr,
      'share.coordinator.state.topic.replication.factor': replication,
      'share.coordinator.state.topic.min.isr': minIsr,
      'group.initial.rebalance.delay.ms': 0,
      'num.network.threads': 2,
      'num.io.threads': 4,
      ...o.props,
    };
    const text =
      '# Generated by infra/kafka.mjs on every start; edit kafkaBroker() there, not this file.\n' +
      Object.entries(props)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n') +
      '\n';
    fs.writeFileSync(paths.config, text);
  }

  function formatStorage() {
    if (fs.existsSync(path.join(paths.data, 'meta.properties'))) return;
    const r = run(JAVA, [
      ...logProps(paths.logs),
      '-cp',
      jars.classpath,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId(),
      '-c',
      paths.config,
      '--ignore-formatted',
      ...(o.formatArgs ?? []),
    ]);
    if (!r.ok) throw new Error(`${name}: storage format failed (exit ${r.code}):\n${r.out}`);
  }

  const service = javaService({
    name,
    title: 'Kafka',
    noun: 'broker',
    jars,
    shared: path.resolve(paths.dir) === kafkaPaths.dir,
    paths,
    host,
    port,
    address: bootstrap,
    addressKey: 'bootstrap',
    answers: (timeoutMs) => portOpen(port, host, timeoutMs),
    cmdline: ['kafka.Kafka', paths.config],
    startTimeoutMs: START_TIMEOUT_MS,
    stopTimeoutMs: 60_000,
    prepare() {
      writeConfig();
      formatStorage();
    },
    javaArgs: () => [
      ...(o.heapOpts ?? ['-Xms512m', '-Xmx1g']),
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:InitiatingHeapOccupancyPercent=35',
      '-Djava.awt.headless=true',
      ...logProps(paths.logs),
      '-cp',
      jars.classpath,
      'kafka.Kafka',
      paths.config,
    ],
    ...(o.env ? { env: o.env } : {}),
    readyLog: paths.serverLog,
    ready: (logOffset) => logSays(paths.serverLog, logOffset, READY_LINE),
    readyWhat: `log "${READY_LINE}"`,
    async afterReady(pid) {
      if (!(await waitForPort(port, 15_000, host))) {
        await killAndWait(pid, 'SIGTERM', 30_000);
        throw new Error(`${name}: broker logged "${READY_LINE}" but ${bootstrap} does not answer`);
      }
    },
    record: o.record ?? false,
    exclusive: o.exclusive ?? true,
  });

  return {
    name,
    nodeId,
    bootstrap,
    port,
    controllerPort,
    paths,
    pid: service.pid,
    status: service.status,
    start: service.start,
    stop: service.stop,
    /** Hard crash: SIGKILL, no clean shutdown. */
    kill: () => service.stop({ signal: 'SIGKILL' }),
    restart: service.restart,
  };
}

// ---------------------------------------------------------------- the default broker

const kafka = kafkaBroker({
  name: 'kafka',
  dir: kafkaPaths.dir,
  port: KAFKA_PORT,
  controllerPort: KAFKA_CONTROLLER_PORT,
  heapOpts: envWords('HERALD_KAFKA_HEAP_OPTS', '-Xms512m -Xmx1g'),
  record: true,
  // A broker already on 9092 that herald did not start is used as it is (the user's own).
  exclusive: false,
});

/**
 * Makes sure .cache/kafka/libs holds the broker jars (runs mvn only if missing
 * or if HERALD_KAFKA_VERSION asks for another version).
 */
export const ensureKafkaJars = jars.ensure;

/** Why no broker can run here (no Java, no jars to be had), or null. */
export const kafkaUnavailable = jars.unavailable;

/** pid of the broker herald started (from kafka.pid), if it is still alive. */
export const kafkaPid = kafka.pid;

/** @type {() => Promise<{up: boolean, pid: number|null, ours: boolean, bootstrap: string}>} */
export const kafkaStatus = kafka.status;

/**
 * Starts the broker unless one already answers on KAFKA_BOOTSTRAP (ours or not).
 * Resolves once server.log says "Kafka Server started". Safe to call from
 * parallel test processes (serialised by a lock file).
 */
export const startKafka = kafka.start;

/**
 * Stops the broker herald started: `signal` (default SIGTERM, i.e. a clean
 * shutdown), waits for the JVM to exit, SIGKILL after timeoutMs (default 60 s).
 * Pass { signal: 'SIGKILL' } to simulate a crash. No-op if nothing is running;
 * throws if a broker not started by herald holds the port.
 */
export const stopKafka = kafka.stop;

/** Hard crash: SIGKILL, no clean shutdown. */
export const killKafka = kafka.kill;

/**
 * stopKafka() then startKafka(); the data dir is kept, so topics and committed
 * offsets survive. Pass { signal: 'SIGKILL' } for a crash-restart.
 */
export const restartKafka = kafka.restart;

/**
 * Runs a Kafka CLI class from the same jars, e.g.
 * runKafkaTool('org.apache.kafka.tools.TopicCommand', ['--bootstrap-server', KAFKA_BOOTSTRAP, '--list']).
 * @returns {{ok: boolean, code: number|null, out: string}}
 */
export function runKafkaTool(mainClass, args = [], { timeoutMs = 60_000 } = {}) {
  return run(JAVA, ['-cp', jars.classpath, mainClass, ...args], { timeout: timeoutMs });
}

// ---------------------------------------------------------------- private brokers

/**
 * A single-node broker of the caller's own, on two free ports (client, controller) in
 * .cache/private/kafka-<pid>-<hex>, running from the jars in .cache/kafka/libs; started before it
 * is returned; `destroy()` (or the process's exit) kills it and removes its directory. Throws
 * ServiceUnavailable when no broker can run here. About 8 s to start on 2 cores.
 */
export function privateKafka({ heapOpts = ['-Xms256m', '-Xmx768m'], props } = {}) {
  return privateInstance('kafka', {
    ports: 2,
    requirements: jars.unavailable,
    create: ({ dir, ports: [port, controllerPort], env }) =>
      kafkaBroker({ name: 'kafka-private', dir, port, controllerPort, heapOpts, env, ...(props ? { props } : {}) }),
  });
}
