// A private PostgreSQL cluster for a test that stops or restarts the database, run with the
// machine's own binaries (initdb, pg_ctl, createdb from /usr/lib/postgresql/<version>/bin, or
// HERALD_PG_BIN), never the machine's cluster.
//
//   import { privatePostgres } from '../infra/postgres.mjs';
//   const pg = await privatePostgres();   // pg.url: postgres://postgres@127.0.0.1:<port>/test
//   await pg.restart();                   // a fast shutdown and a start, the data kept
//   await pg.destroy();
//
// PostgreSQL refuses to run as root: when this process is root, every command runs as the
// `postgres` user (runuser -u postgres), in a directory under os.tmpdir() owned by it (a path
// under the repository may not be reachable by that user). The cluster listens on 127.0.0.1:<free
// port> with trust authentication and keeps its socket in that directory; it has a database
// `test`. Plain ESM, Node >= 20, no dependencies.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCertificates } from './certs.mjs';
import { firstExecutable, onPath, pidAlive, run, runAsync } from './lib.mjs';
import { privateInstance } from './private.mjs';

const TOOLS = ['initdb', 'pg_ctl', 'createdb'];
const asRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** The directory of the server binaries: HERALD_PG_BIN, the newest /usr/lib/postgresql/<v>/bin, pg_config --bindir, or initdb's on the PATH. */
export function postgresBinDir() {
  const candidates = [];
  if (process.env.HERALD_PG_BIN) candidates.push(process.env.HERALD_PG_BIN);
  try {
    const versions = fs
      .readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join('/usr/lib/postgresql', v, 'bin')));
  } catch {
    /* not Debian's layout */
  }
  const config = run('pg_config', ['--bindir']);
  if (config.ok) candidates.push(config.out.trim());
  const initdb = onPath('initdb');
  if (initdb) candidates.push(path.dirname(initdb));
  return candidates.find((dir) => TOOLS.every((t) => firstExecutable([path.join(dir, t)]))) ?? null;
}

/** Why no cluster can be started here, or null. */
export function postgresRequirements() {
  const bin = postgresBinDir();
  if (!bin) return `no PostgreSQL server binaries (${TOOLS.join(', ')}) found; set HERALD_PG_BIN to their directory`;
  if (asRoot()) {
    if (!run('id', ['-u', 'postgres']).ok)
      return 'running as root, and there is no `postgres` user to run PostgreSQL as';
    if (!onPath('runuser')) return 'running as root, and there is no runuser to run PostgreSQL as the `postgres` user';
  }
  return null;
}

/**
 * A cluster of the caller's own: initdb (about 1 s), started and a database `test` created
 * (about 0.5 s more). `url` is its connection string; stop({mode}), start(), restart({mode}) act
 * on it with pg_ctl (mode 'fast' by default: a clean shutdown that keeps every commit);
 * `destroy()` (or the process's exit) kills it and removes its directory. Throws
 * ServiceUnavailable when it cannot run here.
 * With `tls`, the server takes TCP connections only over TLS (a certificate for 127.0.0.1 signed by
 * a CA of its own: `certs.ca`) and only with the password (`hostssl … scram-sha-256`; the socket
 * stays trusted for the script); `password` is the `postgres` role's, and `url` carries it with
 * `sslmode=verify-full&sslrootcert=<ca>`.
 * `hba`: more pg_hba.conf lines (e.g. `host all all 10.1.2.0/30 trust` for clients of another address
 * it listens on, with `settings: { listen_addresses: "'127.0.0.1,10.1.2.1'" }`).
 * @param {{database?: string, settings?: Record<string, string | number>, tls?: boolean, password?: string, hba?: string[]}} [options]
 */
export function privatePostgres({ database = 'test', settings = {}, tls = false, password, hba = [] } = {}) {
  return privateInstance('postgres', {
    ports: 1,
    requirements: postgresRequirements,
    dir: (id) => fs.mkdtempSync(path.join(os.tmpdir(), `herald-${id}-`)),
    signal: 'SIGQUIT', // immediate shutdown: the postmaster cleans up its shared memory
    async create({ dir, ports: [port], env }) {
      const bin = postgresBinDir();
      const data = path.join(dir, 'data');
      const logFile = path.join(dir, 'postgres.log');
      const runEnv = { ...process.env, ...env, LC_ALL: 'C' };
      const as = (tool, args) => {
        const exe = path.join(bin, tool);
        return asRoot() ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
      };
      const pg = async (tool, args) => {
        const [cmd, argv] = as(tool, args);
        const r = await runAsync(cmd, argv, { env: runEnv, cwd: dir, timeout: 120_000 });
        if (!r.ok) {
          const log = fs.existsSync(logFile)
            ? `\n--- ${logFile} ---\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`
            : '';
          throw new Error(`postgres (private): ${tool} ${args.join(' ')} failed (exit ${r.code}): ${r.out}${log}`);
        }
        return r.out;
      };
      if (asRoot()) {
        const uid = Number(run('id', ['-u', 'postgres']).out);
        const gid = Number(run('id', ['-g', 'postgres']).out);
        fs.chownSync(dir, uid, gid);
      }
      await pg('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
      const certs = tls ? makeCertificates(path.join(dir, 'certs')) : null;
      if (certs) {
        if (asRoot()) {
          const uid = Number(run('id', ['-u', 'postgres']).out);
          const gid = Number(run('id', ['-g', 'postgres']).out);
          for (const f of [certs.dir, certs.cert, certs.key, certs.ca]) fs.chownSync(f, uid, gid);
        }
        fs.writeFileSync(
          path.join(data, 'pg_hba.conf'),
          '# herald private cluster with tls (infra/postgres.mjs)\n' +
            'local all all trust\n' +
            'hostssl all all 127.0.0.1/32 scram-sha-256\n' +
            'hostnossl all all 127.0.0.1/32 reject\n',
        );
      }
      if (hba.length > 0) fs.appendFileSync(path.join(data, 'pg_hba.conf'), `${hba.join('\n')}\n`);
      const conf = {
        port,
        listen_addresses: "'127.0.0.1'",
        unix_socket_directories: `'${dir}'`,
        // A fast shutdown writes everything out, so without fsync only a crash of the machine loses data.
        fsync: 'off',
        shared_buffers: "'32MB'",
        ...(certs
          ? {
              ssl: 'on',
              ssl_cert_file: `'${certs.cert}'`,
              ssl_key_file: `'${certs.key}'`,
              password_encryption: "'scram-sha-256'",
            }
          : {}),
        ...settings,
      };
      fs.appendFileSync(
        path.join(data, 'postgresql.conf'),
        `\n# herald private cluster (infra/postgres.mjs)\n${Object.entries(conf)
          .map(([k, v]) => `${k} = ${v}`)
          .join('\n')}\n`,
      );
      const ctl = (...args) => pg('pg_ctl', ['-D', data, '-w', '-t', '60', ...args]);
      let created = false;
      const pid = () => {
        try {
          const p = Number.parseInt(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8'), 10);
          return pidAlive(p) ? p : null;
        } catch {
          return null;
        }
      };
      return {
        url: certs
          ? `postgres://postgres${password === undefined ? '' : `:${encodeURIComponent(password)}`}@127.0.0.1:${port}/${database}?sslmode=verify-full&sslrootcert=${encodeURIComponent(certs.ca)}`
          : `postgres://postgres@127.0.0.1:${port}/${database}`,
        /** With `tls`: the CA and server certificate. */
        certs,
        /** The directory of its socket (trusted: for set-up by the test itself). */
        socketDir: dir,
        host: '127.0.0.1',
        port,
        dataDir: data,
        logFile,
        /** The postmaster's pid, if it runs. */
        pid,
        async start() {
          const t0 = Date.now();
          await ctl('-l', logFile, 'start');
          if (!created) {
            await pg('createdb', ['-h', dir, '-p', String(port), '-U', 'postgres', database]);
            if (password !== undefined) {
              const sql = `ALTER ROLE postgres PASSWORD '${password.replaceAll("'", "''")}'`;
              await pg('psql', ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', database, '-qc', sql]);
            }
            created = true;
          }
          return { ms: Date.now() - t0 };
        },
        /** pg_ctl stop: mode 'fast' (default: sessions are ended, a clean shutdown), 'smart' or 'immediate' (a crash). */
        async stop({ mode = 'fast' } = {}) {
          const t0 = Date.now();
          await ctl('-m', mode, 'stop');
          return { ms: Date.now() - t0 };
        },
        async restart({ mode = 'fast' } = {}) {
          const t0 = Date.now();
          await ctl('-m', mode, '-l', logFile, 'restart');
          return { ms: Date.now() - t0 };
        },
      };
    },
  });
}
