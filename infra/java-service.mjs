// A local Java server run from jars fetched off Maven Central: what infra/kafka.mjs and
// infra/elasticmq.mjs share. javaJars(spec) fetches a server's jars once with mvn into
// <cache>/<name>/libs (again when the pom or the wanted version changes); javaService(spec) runs
// one instance of the server from them (infra/service.mjs: detached, a pid file, ready when it
// says so, stopped only if herald started it). Several instances (the default one and private
// ones, each with its own directory and ports) share one set of jars.
// Plain ESM, Node >= 20, no dependencies.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CACHE_DIR, onPath, run, withLock } from './lib.mjs';
import { localService } from './service.mjs';

export const JAVA = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';

/** The first 12 hex digits of the SHA-256 of text (a pom's fingerprint in the version marker). */
export const shortHash = (text) => crypto.createHash('sha256').update(text).digest('hex').slice(0, 12);

/** The major version `bin -version` reports, or null when it does not run. */
function javaMajor(bin) {
  const r = run(bin, ['-version']);
  if (!r.ok) return null;
  const m = /version "(\d+)(?:\.(\d+))?/.exec(r.out);
  if (!m) return null;
  return Number(m[1]) === 1 ? Number(m[2]) : Number(m[1]);
}

const javaFound = new Map();
/**
 * The java binary of the first JDK of major `min` or newer among the `first` binaries (a server's
 * own override), $JAVA_HOME's, `java` on the PATH and /usr/lib/jvm/*; null when none is. For the
 * servers that need a newer Java than JAVA (Apicurio Registry, Debezium: 21).
 */
export function javaAtLeast(min, first = []) {
  const key = [min, ...first].join('\0');
  if (javaFound.has(key)) return javaFound.get(key);
  const candidates = [...first];
  if (process.env.JAVA_HOME) candidates.push(path.join(process.env.JAVA_HOME, 'bin', 'java'));
  candidates.push('java');
  try {
    for (const d of fs.readdirSync('/usr/lib/jvm').sort().reverse())
      candidates.push(path.join('/usr/lib/jvm', d, 'bin', 'java'));
  } catch {
    /* no /usr/lib/jvm */
  }
  const bin = candidates.find((c) => (javaMajor(c) ?? 0) >= min) ?? null;
  javaFound.set(key, bin);
  return bin;
}

/** JVM options from the environment variable `name` (split on white space), or from dflt. */
export const envWords = (name, dflt) => (process.env[name] || dflt).split(/\s+/).filter(Boolean);

/**
 * The files of one instance of a server, under `dir`: data/, logs/ (logs/<name>.out is the JVM's
 * stdout and stderr), <name>.pid and .lock; `more(dir)` adds the service's own (its config at least).
 */
export function instancePaths(dir, name, more = () => ({})) {
  return Object.freeze({
    dir,
    data: path.join(dir, 'data'),
    logs: path.join(dir, 'logs'),
    outLog: path.join(dir, 'logs', `${name}.out`),
    pidFile: path.join(dir, `${name}.pid`),
    lock: path.join(dir, '.lock'),
    ...more(dir),
  });
}

/**
 * The files of service `name`'s default instance, under <cache>/<name>: its instancePaths, and
 * the jars every instance runs from: libs/ (with the version marker `libs/.herald-<name>-version`).
 */
export function servicePaths(name, more) {
  const dir = path.join(CACHE_DIR, name);
  return instancePaths(dir, name, (d) => ({
    libs: path.join(d, 'libs'),
    versionMarker: path.join(d, 'libs', `.herald-${name}-version`),
    ...more(d),
  }));
}

/**
 * @typedef {object} JavaJarsSpec
 * @property {string} name prefix of messages, and `libs/.herald-<name>-version`
 * @property {{dir: string, libs: string, versionMarker: string, pom: string, lock: string}} paths
 *   lock is the default instance's: a fetch for another instance takes it too
 * @property {string} artifact groupId:artifactId of the server's jar
 * @property {string[]} versions the versions to fetch, in order: the next is tried when one fails
 * @property {(version: string) => boolean} accepts whether the jars in libs, of this version, do
 * @property {() => string} pomHash the pom's fingerprint: the jars are fetched again when it changes
 * @property {(version: string, libs: string) => string[]} pom readies paths.pom to copy the jars of
 *   `version` into `libs`; returns mvn's arguments after `package`
 * @property {() => string | null} [java] the java binary to run (default JAVA); null: none fits
 * @property {number} [javaMin] the Java major version the server needs (for the message)
 */

/**
 * A pom.xml whose only work is maven-dependency-plugin's `executions` (XML <execution> elements)
 * in the package phase, with `dependencies` ([groupId, artifactId, version] each); nothing is
 * built. `generatedBy` names the file whose code writes it.
 */
export function dependencyPom({ generatedBy, artifactId, dependencies = [], executions }) {
  const dep = ([g, a, v]) =>
    `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  const listed =
    dependencies.length > 0 ? `\n  <dependencies>\n${dependencies.map(dep).join('\n')}\n  </dependencies>` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by ${generatedBy}; edit it there, not this file. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.herald.infra</groupId>
  <artifactId>${artifactId}</artifactId>
  <version>0.0.0</version>
  <packaging>pom</packaging>${listed}
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>3.8.1</version>
        <executions>${executions}
        </executions>
      </plugin>
    </plugins>
  </build>
</project>
`;
}

/** The pom that copies `dependencies` and everything they need at run time into `libs`. */
export function copyJarsPom({ generatedBy, artifactId, dependencies, libs }) {
  return dependencyPom({
    generatedBy,
    artifactId,
    dependencies,
    executions: `
          <execution>
            <id>copy-runtime-jars</id>
            <phase>package</phase>
            <goals><goal>copy-dependencies</goal></goals>
            <configuration>
              <outputDirectory>${libs}</outputDirectory>
              <includeScope>runtime</includeScope>
            </configuration>
          </execution>`,
  });
}

/** @param {JavaJarsSpec} spec */
export function javaJars(spec) {
  const { name, paths } = spec;

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
    // mvn's build directory keeps the dependency plugin's markers: left by an earlier fetch, they
    // made it skip unpacking into the new directory (Apicurio's libs then held only its marker).
    fs.rmSync(path.join(path.dirname(paths.pom), 'target'), { recursive: true, force: true });
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

  /** The version of the jars in libs if they will do as they are, else null. */
  function current() {
    const have = readMarker();
    return have && have.hash === spec.pomHash() && spec.accepts(have.version) ? have.version : null;
  }

  /** @returns {{version: string, fetched: boolean, ms: number}} */
  function ensure({ log = () => {} } = {}) {
    const have = current();
    if (have) return { version: have, fetched: false, ms: 0 };
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

  return {
    libs: paths.libs,
    /** The java binary the server runs with (spec.java's, else JAVA). */
    java: spec.java ? (spec.java() ?? JAVA) : JAVA,
    /** The classpath of every jar. */
    classpath: path.join(paths.libs, '*'),
    version: () => readMarker()?.version ?? null,
    current,
    /** Makes sure libs holds the jars; call it under the default instance's lock. */
    ensure,
    /** Why no instance can run here (no Java; no jars and no mvn to fetch them), or null. */
    unavailable() {
      const javaBin = spec.java ? spec.java() : JAVA;
      if (javaBin === null) return `${name} needs Java ${spec.javaMin ?? 17}+ and none was found`;
      const java = run(javaBin, ['-version']);
      if (!java.ok)
        return `${javaBin} does not run (${java.out.split('\n')[0] || `exit ${java.code}`}); ${name} needs Java`;
      if (!current() && !onPath('mvn')) return `no ${name} jars in ${paths.libs} and no mvn on the PATH to fetch them`;
      return null;
    },
    /** ensure() from an instance that is not the default one: under the default instance's lock. */
    ensureLocked: (opts) => {
      const have = current();
      return have ? { version: have, fetched: false, ms: 0 } : withLock(paths.lock, () => ensure(opts));
    },
  };
}

/**
 * @typedef {Omit<import('./service.mjs').LocalServiceSpec, 'command' | 'args' | 'version'> & {
 *   jars: ReturnType<typeof javaJars>,
 *   paths: {dir: string, data: string, logs: string, outLog: string, pidFile: string, lock: string},
 *   javaArgs: () => string[],
 *   shared?: boolean,
 * }} JavaServiceSpec
 * `prepare` runs after the jars are there; `shared` is set on the default instance (whose lock
 * covers the jars), not on the others. The java binary is the jars' (`javaJars({ java })`).
 */

/** One instance of a Java server (infra/service.mjs) run from `jars`. @param {JavaServiceSpec} spec */
export function javaService(spec) {
  return localService({
    ...spec,
    command: spec.jars.java,
    args: spec.javaArgs,
    version: spec.jars.version,
    async prepare(opts) {
      const jars = spec.shared ? spec.jars.ensure(opts) : await spec.jars.ensureLocked(opts);
      fs.mkdirSync(spec.paths.data, { recursive: true });
      await spec.prepare(opts);
      return { version: jars.version, fetchMs: jars.ms };
    },
  });
}
