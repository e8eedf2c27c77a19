// Local Apicurio Registry 3 servers (a schema registry with a Confluent-compatible REST API under
// /apis/ccompat/v7), from the distribution Maven Central publishes, for development and tests of
// the Confluent registry client and the Avro codec.
//
//   import { startApicurio, stopApicurio, APICURIO_URL } from '../infra/apicurio.mjs';
//   import { privateApicurio } from '../infra/apicurio.mjs';   // a server of a test's own
//
// Plain ESM, Node >= 20, no dependencies. The default server listens on 127.0.0.1:8081 (the
// Confluent registry's port; HERALD_APICURIO_PORT), its management interface on 127.0.0.1:9081
// (HERALD_APICURIO_MANAGEMENT_PORT). Storage is in memory: a restart starts empty. Its state lives
// in <repo>/.cache/apicurio:
//   pom.xml      generated on each fetch (io.apicurio:apicurio-registry-app:<v>:tar.gz:all)
//   libs/        the distribution (a Quarkus fast-jar: quarkus-run.jar, lib/, app/, quarkus/),
//                unpacked once with mvn and shared by every server
//   logs/        apicurio.out (JVM stdout/stderr)
//   apicurio.pid, .lock
// Apicurio Registry 3 is Java 21 bytecode: the first Java 21+ found is used (HERALD_APICURIO_JAVA,
// $JAVA_HOME, `java` on the PATH, then /usr/lib/jvm/*).
// privateApicurio() starts one on free ports in .cache/private/ (infra/private.mjs).

import fs from 'node:fs';
import path from 'node:path';
import {
  dependencyPom,
  envWords,
  instancePaths,
  javaAtLeast,
  javaJars,
  javaService,
  servicePaths,
  shortHash,
} from './java-service.mjs';
import { intEnv } from './lib.mjs';
import { privateInstance } from './private.mjs';

export const DEFAULT_APICURIO_VERSION = '3.3.3';
const VERSION = process.env.HERALD_APICURIO_VERSION || DEFAULT_APICURIO_VERSION;
export const APICURIO_HOST = '127.0.0.1';
export const APICURIO_PORT = intEnv('HERALD_APICURIO_PORT', 8081);
const MANAGEMENT_PORT = intEnv('HERALD_APICURIO_MANAGEMENT_PORT', 9081);
/** The server's root; the Confluent-compatible API is under APICURIO_CCOMPAT. */
export const APICURIO_URL = `http://${APICURIO_HOST}:${APICURIO_PORT}`;
export const CCOMPAT_PATH = '/apis/ccompat/v7';
export const APICURIO_CCOMPAT = `${APICURIO_URL}${CCOMPAT_PATH}`;
const START_TIMEOUT_MS = intEnv('HERALD_APICURIO_START_TIMEOUT_MS', 180_000);
const JAVA_MIN = 21;

export const apicurioPaths = servicePaths('apicurio', (dir) => ({ pom: path.join(dir, 'pom.xml') }));

/** The first Java 21+ (HERALD_APICURIO_JAVA first), or null. */
const findJava = () =>
  javaAtLeast(JAVA_MIN, process.env.HERALD_APICURIO_JAVA ? [process.env.HERALD_APICURIO_JAVA] : []);

// ---------------------------------------------------------------- distribution

/** The pom that copies the distribution's tar.gz into libs and unpacks it there; nothing is built. */
function pomText(version, libs) {
  const item = (extra) => `
                <artifactItem>
                  <groupId>io.apicurio</groupId>
                  <artifactId>apicurio-registry-app</artifactId>
                  <version>${version}</version>
                  <type>tar.gz</type>
                  <classifier>all</classifier>${extra}
                </artifactItem>`;
  return dependencyPom({
    generatedBy: 'infra/apicurio.mjs',
    artifactId: 'herald-apicurio-runtime',
    executions: `
          <execution>
            <id>unpack-distribution</id>
            <phase>package</phase>
            <goals><goal>unpack</goal></goals>
            <configuration>
              <artifactItems>${item(`
                  <outputDirectory>${libs}</outputDirectory>`)}
              </artifactItems>
            </configuration>
          </execution>
          <execution>
            <id>mark-distribution</id>
            <phase>package</phase>
            <goals><goal>copy</goal></goals>
            <configuration>
              <artifactItems>${item(`
                  <outputDirectory>${libs}</outputDirectory>
                  <destFileName>apicurio-registry-app-${version}.marker</destFileName>`)}
              </artifactItems>
            </configuration>
          </execution>`,
  });
}

/** The distribution every server runs from, in .cache/apicurio/libs. */
const jars = javaJars({
  name: 'apicurio',
  paths: apicurioPaths,
  artifact: 'io.apicurio:apicurio-registry-app',
  versions: [VERSION],
  accepts: (version) => version === VERSION,
  pomHash: () => shortHash(pomText('V', 'L')),
  pom(version, libs) {
    fs.mkdirSync(apicurioPaths.dir, { recursive: true });
    fs.writeFileSync(apicurioPaths.pom, pomText(version, libs));
    return [];
  },
  java: findJava,
  javaMin: JAVA_MIN,
});

// ---------------------------------------------------------------- process

/** True once the server at `url` answers GET /apis/ccompat/v7/subjects with 200. */
async function answersAt(url, timeoutMs = 2000) {
  try {
    const res = await fetch(`${url}${CCOMPAT_PATH}/subjects`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

export const apicurioAnswers = (timeoutMs = 2000) => answersAt(APICURIO_URL, timeoutMs);

/**
 * One Apicurio server on `port` (its management interface on `managementPort`), in `dir`
 * (default: the default server's).
 * @param {{name?: string, dir?: string, port: number, managementPort: number, heapOpts?: string[],
 *   env?: Record<string, string>, record?: boolean, exclusive?: boolean}} o
 */
export function apicurioServer(o) {
  const name = o.name ?? 'apicurio';
  const dir = o.dir ?? apicurioPaths.dir;
  const paths = instancePaths(dir, 'apicurio');
  const url = `http://${APICURIO_HOST}:${o.port}`;
  const runJar = path.join(jars.libs, 'quarkus-run.jar');
  const service = javaService({
    name,
    title: 'Apicurio Registry',
    noun: 'server',
    jars,
    shared: path.resolve(dir) === apicurioPaths.dir,
    paths,
    host: APICURIO_HOST,
    port: o.port,
    address: url,
    addressKey: 'url',
    answers: (timeoutMs) => answersAt(url, timeoutMs),
    cmdline: [runJar, `-Dquarkus.http.port=${o.port}`],
    startTimeoutMs: START_TIMEOUT_MS,
    stopTimeoutMs: 30_000,
    prepare: () => {},
    javaArgs: () => [
      ...(o.heapOpts ?? ['-Xms64m', '-Xmx512m']),
      '-Djava.awt.headless=true',
      `-Dquarkus.http.port=${o.port}`,
      `-Dquarkus.http.host=${APICURIO_HOST}`,
      `-Dquarkus.management.port=${o.managementPort}`,
      `-Dquarkus.management.host=${APICURIO_HOST}`,
      // In memory (an H2 database of the process's own): a restart starts empty.
      '-Dapicurio.storage.kind=sql',
      '-Dapicurio.storage.sql.kind=h2',
      '-Dquarkus.log.level=WARN',
      '-Dquarkus.log.category."io.quarkus".level=INFO',
      '-jar',
      runJar,
    ],
    ...(o.env ? { env: o.env } : {}),
    readyLog: paths.outLog,
    ready: () => () => answersAt(url),
    readyWhat: `answer GET ${CCOMPAT_PATH}/subjects on ${url}`,
    record: o.record ?? false,
    exclusive: o.exclusive ?? true,
  });
  return { name, url, ccompat: `${url}${CCOMPAT_PATH}`, port: o.port, paths, ...service };
}

const apicurio = apicurioServer({
  port: APICURIO_PORT,
  managementPort: MANAGEMENT_PORT,
  heapOpts: envWords('HERALD_APICURIO_HEAP_OPTS', '-Xms64m -Xmx512m'),
  record: true,
  // A registry already on 8081 that herald did not start is used as it is (the user's own).
  exclusive: false,
});

/** Makes sure .cache/apicurio/libs holds the distribution (runs mvn only if it is missing). */
export const ensureApicurioJars = jars.ensure;
export const apicurioPid = apicurio.pid;
export const apicurioStatus = apicurio.status;
/**
 * Starts the server unless one already answers on APICURIO_URL (ours or not); fetches the
 * distribution first if it is not cached. Resolves once the Confluent-compatible API answers.
 */
export const startApicurio = apicurio.start;
/** Stops the server herald started (SIGTERM, SIGKILL after timeoutMs); what it held is lost. */
export const stopApicurio = apicurio.stop;
export const restartApicurio = apicurio.restart;
/** Why no server can run here (no Java 21+; no distribution and no mvn), or null. */
export const apicurioUnavailable = jars.unavailable;

// ---------------------------------------------------------------- private servers

/**
 * A server of the caller's own on free ports in .cache/private/apicurio-<pid>-<hex>, running from
 * the distribution in .cache/apicurio/libs; started before it is returned; `destroy()` (or the
 * process's exit) kills it and removes its directory. Throws ServiceUnavailable when it cannot run.
 */
export function privateApicurio() {
  return privateInstance('apicurio', {
    ports: 2,
    requirements: jars.unavailable,
    create: ({ dir, ports: [port, managementPort], env }) =>
      apicurioServer({ name: 'apicurio-private', dir, port, managementPort, env }),
  });
}
