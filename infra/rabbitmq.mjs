// A private RabbitMQ node for a test that stops the broker (or closes every connection, or changes
// its settings), run with the machine's RabbitMQ (/usr/lib/rabbitmq/bin, the PATH's, or
// HERALD_RABBITMQ_SBIN), never the machine's own node.
//
//   import { privateRabbitMq } from '../infra/rabbitmq.mjs';
//   const rabbit = await privateRabbitMq();   // rabbit.url: amqp://guest:guest@127.0.0.1:<port>
//   await rabbit.stopApp(); await rabbit.startApp();   // rabbitmqctl -n <node> stop_app / start_app
//   await rabbit.destroy();
//
// The node is herald-<pid>-<hex>@localhost with a directory of its own in .cache/private: its
// HOME (and Erlang cookie), mnesia and log directories, pid file, config (the AMQP listener on
// 127.0.0.1:<free port>) and an empty plugins file (no management or prometheus listeners), and
// an empty rabbitmq-env.conf in place of /etc/rabbitmq's. It registers with an epmd of its own on
// a free port (ERL_EPMD_PORT), and its distribution port is a free port too. Plain ESM, Node >= 20,
// no dependencies.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { firstExecutable, onPath, portOpen, runAsync, waitForPort } from './lib.mjs';
import { privateInstance } from './private.mjs';
import { localService } from './service.mjs';

/**
 * The directory holding rabbitmq-server and rabbitmqctl themselves: HERALD_RABBITMQ_SBIN,
 * /usr/lib/rabbitmq/bin (Debian's: /usr/sbin has wrappers that switch to the rabbitmq user and its
 * HOME), or the PATH's.
 */
export function rabbitmqScriptsDir() {
  const onpath = onPath('rabbitmq-server');
  const dirs = [process.env.HERALD_RABBITMQ_SBIN, '/usr/lib/rabbitmq/bin', onpath && path.dirname(onpath)];
  return (
    dirs.find((dir) => {
      if (!dir) return false;
      const server = firstExecutable([path.join(dir, 'rabbitmq-server')]);
      if (!server || !firstExecutable([path.join(dir, 'rabbitmqctl')])) return false;
      return !/\bsu rabbitmq\b/.test(fs.readFileSync(server, 'utf8'));
    }) ?? null
  );
}

const epmdBin = () => onPath('epmd') ?? firstExecutable(['/usr/lib/erlang/bin/epmd']);

/** Why no node can be started here, or null. */
export function rabbitmqRequirements() {
  if (!rabbitmqScriptsDir()) {
    return 'no rabbitmq-server and rabbitmqctl (looked in /usr/lib/rabbitmq/bin and the PATH; or set HERALD_RABBITMQ_SBIN)';
  }
  if (!epmdBin()) return 'no epmd (Erlang) on the PATH';
  return null;
}

/**
 * A node of the caller's own, on three free ports (AMQP, Erlang distribution, epmd); about 5 s
 * to start. stopApp()/startApp() stop and start the RabbitMQ application in the running node
 * (`rabbitmqctl -n <node> stop_app` / `start_app`), ctl(...args) runs any rabbitmqctl command on
 * it, stop()/start()/restart() act on the whole node (SIGTERM: a clean shutdown) and its epmd;
 * `destroy()` (or the process's exit) kills them and removes the directory. Throws
 * ServiceUnavailable when it cannot run here.
 */
export function privateRabbitMq() {
  return privateInstance('rabbitmq', {
    ports: 3,
    requirements: rabbitmqRequirements,
    create({ id, dir, ports: [port, distPort, epmdPort], env: marker }) {
      const host = '127.0.0.1';
      const sbin = rabbitmqScriptsDir();
      const node = `herald-${id.replace(/^rabbitmq-/, '')}@localhost`;
      const home = path.join(dir, 'home');
      const file = (name) => path.join(dir, name);
      fs.mkdirSync(home, { recursive: true });
      fs.writeFileSync(path.join(home, '.erlang.cookie'), crypto.randomBytes(15).toString('hex').toUpperCase(), {
        mode: 0o400,
      });
      fs.writeFileSync(file('enabled_plugins'), '[].\n');
      fs.writeFileSync(file('rabbitmq-env.conf'), '');
      fs.writeFileSync(
        file('rabbitmq.conf'),
        '# herald private node (infra/rabbitmq.mjs)\nlog.console = false\nlog.file.level = info\ndisk_free_limit.absolute = 50MB\n',
      );
      const env = {
        ...marker,
        HOME: home,
        RABBITMQ_NODENAME: node,
        RABBITMQ_NODE_IP_ADDRESS: host,
        RABBITMQ_NODE_PORT: String(port),
        RABBITMQ_DIST_PORT: String(distPort),
        ERL_EPMD_PORT: String(epmdPort),
        ERL_EPMD_ADDRESS: host,
        RABBITMQ_MNESIA_BASE: file('mnesia'),
        RABBITMQ_LOG_BASE: file('log'),
        RABBITMQ_PID_FILE: file('rabbitmq.pid'),
        RABBITMQ_CONFIG_FILE: file('rabbitmq.conf'),
        RABBITMQ_ADVANCED_CONFIG_FILE: file('advanced.config'),
        RABBITMQ_ENABLED_PLUGINS_FILE: file('enabled_plugins'),
        RABBITMQ_CONF_ENV_FILE: file('rabbitmq-env.conf'),
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      };
      const paths = (name) => ({
        dir,
        logs: dir,
        outLog: file(`${name}.out`),
        pidFile: file(`${name}.pid`),
        lock: file(`.${name}.lock`),
      });
      const common = { host, noun: 'server', startTimeoutMs: 120_000, stopTimeoutMs: 60_000, env, exclusive: true };
      const epmd = localService({
        ...common,
        name: 'epmd-private',
        title: 'epmd',
        paths: paths('epmd'),
        port: epmdPort,
        address: `${host}:${epmdPort}`,
        addressKey: 'address',
        answers: (timeoutMs) => portOpen(epmdPort, host, timeoutMs),
        cmdline: ['-port', String(epmdPort)],
        prepare: () => {},
        command: epmdBin(),
        args: () => ['-port', String(epmdPort), '-address', host],
        readyLog: file('epmd.out'),
        ready: () => () => portOpen(epmdPort, host),
        readyWhat: `listen on ${host}:${epmdPort}`,
      });
      const ctl = async (...args) => {
        const r = await runAsync(path.join(sbin, 'rabbitmqctl'), ['-n', node, ...args], {
          env: { ...process.env, ...env },
          cwd: dir,
          timeout: 120_000,
        });
        if (!r.ok) throw new Error(`rabbitmqctl -n ${node} ${args.join(' ')} failed (exit ${r.code}): ${r.out}`);
        return r.out;
      };
      const server = path.join(sbin, 'rabbitmq-server');
      const rabbit = localService({
        ...common,
        name: 'rabbitmq-private',
        title: 'RabbitMQ',
        paths: paths('node'),
        port,
        address: `${host}:${port}`,
        addressKey: 'address',
        answers: (timeoutMs) => portOpen(port, host, timeoutMs),
        // The pid is the rabbitmq-server script's, which stops the VM on SIGTERM and waits for it.
        cmdline: [server],
        prepare: () => {},
        command: server,
        args: () => [],
        readyLog: file('node.out'),
        ready: () => () => portOpen(port, host),
        readyWhat: `listen on ${host}:${port}`,
        afterReady: () => ctl('await_startup').then(() => {}),
      });
      const start = async () => {
        await epmd.start();
        return rabbit.start();
      };
      const stop = async () => {
        const stopped = await rabbit.stop();
        await epmd.stop();
        return stopped;
      };
      return {
        node,
        port,
        url: `amqp://guest:guest@${host}:${port}`,
        ctl,
        /** `rabbitmqctl stop_app`: the node runs on, the broker is down (connections closed, port shut). */
        async stopApp() {
          await ctl('stop_app');
        },
        /** `rabbitmqctl start_app`, resolved once the AMQP port answers. */
        async startApp() {
          await ctl('start_app');
          if (!(await waitForPort(port, 60_000, host)))
            throw new Error(`${node}: ${host}:${port} does not answer after start_app`);
        },
        start,
        stop,
        async restart() {
          const stopped = await stop();
          return { ...(await start()), stop: stopped };
        },
        pid: rabbit.pid,
      };
    },
  });
}
