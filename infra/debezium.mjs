// Debezium's PostgreSQL connector with its outbox event router, on Kafka Connect in standalone
// mode, built from Maven Central jars: what `npm run bench -- relay --systems debezium` measures
// Herald against. Not a service Herald needs; nothing starts it but the bench.
//
//   import { privateDebezium } from '../infra/debezium.mjs';
//   const connect = await privateDebezium({ bootstrap: '127.0.0.1:9092', connector: { ... } });
//
// Plain ESM, Node >= 20, no dependencies. The jars (Kafka Connect 4.1.1, the connector
// 3.6.1.Final and its dependencies, log4j2) are fetched once with mvn into <cache>/debezium/libs.
// Debezium 3.x needs Java 21 or newer: HERALD_DEBEZIUM_JAVA_HOME, else $JAVA_HOME, `java` on the
// PATH or a JDK in /usr/lib/jvm, the first that is new enough (javaAtLeast, infra/java-service.mjs).

import fs from 'node:fs';
import path from 'node:path';
import {
  copyJarsPom,
  instancePaths,
  javaAtLeast,
  javaJars,
  javaService,
  servicePaths,
  shortHash,
} from './java-service.mjs';
import { privateInstance } from './private.mjs';

export const DEBEZIUM_VERSION = '3.6.1.Final';
export const CONNECT_VERSION = '4.1.1';
const MAIN_CLASS = 'org.apache.kafka.connect.cli.ConnectStandalone';
const LOG4J = '2.24.3';

const serverFiles = (dir) => ({
  worker: path.join(dir, 'worker.properties'),
  connector: path.join(dir, 'connector.properties'),
  log4j: path.join(dir, 'log4j2.properties'),
  offsets: path.join(dir, 'data', 'offsets.dat'),
});

export const debeziumPaths = servicePaths('debezium', (dir) => ({
  pom: path.join(dir, 'pom.xml'),
  ...serverFiles(dir),
}));

function pomText(version, libs) {
  return copyJarsPom({
    generatedBy: 'infra/debezium.mjs',
    artifactId: 'herald-debezium-runtime',
    dependencies: [
      ['io.debezium', 'debezium-connector-postgres', version],
      ['org.apache.kafka', 'connect-runtime', CONNECT_VERSION],
      ['org.apache.kafka', 'connect-json', CONNECT_VERSION],
      ['org.apache.logging.log4j', 'log4j-slf4j-impl', LOG4J],
      ['org.apache.logging.log4j', 'log4j-core', LOG4J],
    ],
    libs,
  });
}

const jars = javaJars({
  name: 'debezium',
  paths: debeziumPaths,
  artifact: 'io.debezium:debezium-connector-postgres',
  versions: [DEBEZIUM_VERSION],
  accepts: (version) => version === DEBEZIUM_VERSION,
  pomHash: () => shortHash(pomText('V', 'L')),
  pom(version, libs) {
    fs.writeFileSync(debeziumPaths.pom, pomText(version, libs));
    return [];
  },
  java: () => debeziumJava(),
  javaMin: 21,
});

/** A java binary of major 21 or newer (HERALD_DEBEZIUM_JAVA_HOME's first), or null. */
export function debeziumJava() {
  const home = process.env.HERALD_DEBEZIUM_JAVA_HOME;
  return javaAtLeast(21, home ? [path.join(home, 'bin', 'java')] : []);
}

const properties = (props) =>
  `${Object.entries(props)
    .map(([k, v]) => `${k}=${String(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`)
    .join('\n')}\n`;

/** Connector status from the worker's REST API: RUNNING when the connector and its task run. */
async function connectorState(restUrl, name) {
  try {
    const res = await fetch(`${restUrl}/connectors/${encodeURIComponent(name)}/status`, {
      signal: AbortSignal.timeout(2000),
    });
    if (res.status !== 200) return null;
    const body = await res.json();
    const tasks = body.tasks ?? [];
    if (tasks.some((t) => t.state === 'FAILED')) return `FAILED: ${tasks.find((t) => t.state === 'FAILED').trace}`;
    return body.connector?.state === 'RUNNING' && tasks.length > 0 && tasks.every((t) => t.state === 'RUNNING')
      ? 'RUNNING'
      : (body.connector?.state ?? null);
  } catch {
    return null;
  }
}

/**
 * One Kafka Connect worker in standalone mode running one connector (`connector`, Java properties
 * with `name` and `connector.class`), publishing to `bootstrap`. Ready when the connector and its
 * task run.
 * @param {{name?: string, dir: string, port: number, bootstrap: string, connector: Record<string, string | number>,
 *   worker?: Record<string, string | number>, env?: Record<string, string>, heapOpts?: string[]}} o
 */
export function debeziumConnect(o) {
  const name = o.name ?? 'debezium';
  const paths = instancePaths(o.dir, 'debezium', serverFiles);
  const restUrl = `http://127.0.0.1:${o.port}`;
  const service = javaService({
    name,
    title: 'Kafka Connect with Debezium',
    noun: 'worker',
    jars,
    shared: false,
    paths,
    host: '127.0.0.1',
    port: o.port,
    address: restUrl,
    addressKey: 'restUrl',
    cmdline: [MAIN_CLASS, paths.worker],
    answers: async () => (await connectorState(restUrl, String(o.connector.name))) === 'RUNNING',
    startTimeoutMs: 180_000,
    stopTimeoutMs: 30_000,
    prepare() {
      fs.writeFileSync(
        paths.worker,
        properties({
          'bootstrap.servers': o.bootstrap,
          listeners: restUrl,
          'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
          'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
          'offset.storage.file.filename': paths.offsets,
          'offset.flush.interval.ms': 1000,
          ...o.worker,
        }),
      );
      fs.writeFileSync(paths.connector, properties(o.connector));
      fs.writeFileSync(
        paths.log4j,
        [
          'rootLogger.level = WARN',
          'rootLogger.appenderRef.out.ref = out',
          'appender.out.type = Console',
          'appender.out.name = out',
          'appender.out.layout.type = PatternLayout',
          'appender.out.layout.pattern = [%d] %p %m (%c)%n',
          'logger.debezium.name = io.debezium',
          'logger.debezium.level = INFO',
          '',
        ].join('\n'),
      );
    },
    javaArgs: () => [
      ...(o.heapOpts ?? ['-Xms256m', '-Xmx1g']),
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${paths.log4j}`,
      '-cp',
      jars.classpath,
      MAIN_CLASS,
      paths.worker,
      paths.connector,
    ],
    ...(o.env ? { env: o.env } : {}),
    readyLog: paths.outLog,
    ready: () => async () => {
      const state = await connectorState(restUrl, String(o.connector.name));
      if (state?.startsWith('FAILED')) throw new Error(`the connector failed: ${state.slice(0, 2000)}`);
      return state === 'RUNNING';
    },
    readyWhat: `run connector ${o.connector.name} (REST ${restUrl})`,
    record: false,
    exclusive: true,
  });
  return { name, restUrl, port: o.port, paths, ...service };
}

/**
 * A Connect worker of the caller's own on a free REST port in .cache/private/debezium-*, started
 * before it is returned; `destroy()` (or the process's exit) kills it and removes its directory.
 * Throws ServiceUnavailable without Java 21+ or without the jars and mvn.
 * @param {{bootstrap: string, connector: Record<string, string | number>, worker?: Record<string, string | number>}} o
 */
export function privateDebezium(o) {
  return privateInstance('debezium', {
    ports: 1,
    requirements: jars.unavailable,
    create: ({ dir, ports: [port], env }) => debeziumConnect({ ...o, name: 'debezium-private', dir, port, env }),
  });
}
