// A private NATS server (with JetStream) for a test that stops or restarts the broker, run with
// the machine's nats-server (/usr/sbin/nats-server, the PATH, or HERALD_NATS_SERVER), never the
// machine's own server.
//
//   import { privateNats } from '../infra/nats.mjs';
//   const nats = await privateNats();   // nats.servers: '127.0.0.1:<port>'
//   await nats.restart();               // SIGTERM, then the same port and store: streams survive
//   await nats.destroy();
//
// `nats-server -a 127.0.0.1 -p <free port> -js -sd <dir>/jetstream -l <dir>/nats.log`, in
// .cache/private/nats-<pid>-<hex>. Plain ESM, Node >= 20, no dependencies.

import path from 'node:path';
import { firstExecutable, logSays, onPath, portOpen } from './lib.mjs';
import { privateInstance } from './private.mjs';
import { localService } from './service.mjs';

const READY_LINE = 'Server is ready';

/** The nats-server binary: HERALD_NATS_SERVER, /usr/sbin/nats-server or the PATH's. */
export function natsServerBin() {
  return firstExecutable([process.env.HERALD_NATS_SERVER ?? '', '/usr/sbin/nats-server']) ?? onPath('nats-server');
}

/** Why no server can be started here, or null. */
export function natsRequirements() {
  return natsServerBin() ? null : 'no nats-server binary (looked in /usr/sbin and the PATH; or set HERALD_NATS_SERVER)';
}

/**
 * A server of the caller's own on a free port (about 0.3 s to start); start(), stop() (SIGTERM,
 * SIGKILL after 20 s) and restart() keep its JetStream store; `destroy()` (or the process's exit)
 * kills it and removes its directory. Throws ServiceUnavailable when it cannot run here.
 */
export function privateNats() {
  return privateInstance('nats', {
    ports: 1,
    requirements: natsRequirements,
    create({ dir, ports: [port], env }) {
      const host = '127.0.0.1';
      const store = path.join(dir, 'jetstream');
      const serverLog = path.join(dir, 'nats.log');
      const servers = `${host}:${port}`;
      const paths = {
        dir,
        logs: dir,
        outLog: path.join(dir, 'nats.out'),
        pidFile: path.join(dir, 'nats.pid'),
        lock: path.join(dir, '.lock'),
      };
      const service = localService({
        name: 'nats-private',
        title: 'nats-server',
        noun: 'server',
        paths,
        host,
        port,
        address: servers,
        addressKey: 'servers',
        answers: (timeoutMs) => portOpen(port, host, timeoutMs),
        cmdline: ['-sd', store],
        startTimeoutMs: 30_000,
        stopTimeoutMs: 20_000,
        prepare: () => {},
        command: natsServerBin(),
        args: () => ['-a', host, '-p', String(port), '-js', '-sd', store, '-l', serverLog],
        env,
        readyLog: serverLog,
        ready: (logOffset) => logSays(serverLog, logOffset, READY_LINE),
        readyWhat: `log "${READY_LINE}"`,
        exclusive: true,
      });
      return { servers, url: `nats://${servers}`, port, ...service };
    },
  });
}
