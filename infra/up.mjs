#!/usr/bin/env node
// Brings up the local services Herald's tests use; idempotent.
//
//   node infra/up.mjs [--require=postgres,kafka]
//
// PostgreSQL, RabbitMQ, NATS: started with the machine's own commands if their
// port is closed. Kafka: a broker from Maven Central jars (see infra/kafka.mjs).
// ElasticMQ (SQS): a server from Maven Central jars (see infra/elasticmq.mjs).
// Apicurio Registry (a Confluent-compatible schema registry): from Maven Central (infra/apicurio.mjs).
// Every service is brought up; those named in --require (default postgres,kafka)
// make the script exit 1 if they cannot be, the others only warn.
// What this script started is recorded in .cache/infra/started.json, so that
// infra/down.mjs stops only that.
import fs from 'node:fs';
import path from 'node:path';
import { APICURIO_URL, apicurioAnswers, apicurioUnavailable, startApicurio } from './apicurio.mjs';
import { ELASTICMQ_ENDPOINT, startElasticMq } from './elasticmq.mjs';
import { KAFKA_BOOTSTRAP, startKafka } from './kafka.mjs';
import { NATS_PID_FILE, portOpen, recordStarted, run, waitForPort } from './lib.mjs';

const ALL = ['postgres', 'rabbitmq', 'nats', 'kafka', 'elasticmq', 'apicurio'];

function parseArgs(argv) {
  let require = ['postgres', 'kafka'];
  for (const a of argv) {
    if (a.startsWith('--require=')) {
      require = a
        .slice('--require='.length)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = require.filter((s) => !ALL.includes(s));
      if (bad.length) usage(`unknown service(s) in --require: ${bad.join(', ')}`);
    } else if (a === '-h' || a === '--help') {
      usage();
    } else {
      usage(`unknown argument: ${a}`);
    }
  }
  return { require: new Set(require) };
}

function usage(err) {
  const text = `usage: node infra/up.mjs [--require=${ALL.join(',')}]   (default --require=postgres,kafka)`;
  if (err) {
    console.error(`up: ${err}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

function pgVersion() {
  let vers = [];
  try {
    vers = fs.readdirSync('/etc/postgresql');
  } catch {
    /* none */
  }
  vers = vers.filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(a) - Number(b));
  if (!vers.length) throw new Error('no cluster under /etc/postgresql (is PostgreSQL installed?)');
  return vers[vers.length - 1];
}

/** Port-checked system services with their start commands. */
const SERVICES = {
  postgres: {
    port: 5432,
    waitMs: 60_000,
    start() {
      const ver = pgVersion();
      return { cmd: ['pg_ctlcluster', ['--skip-systemctl-redirect', ver, 'main', 'start']], info: { version: ver } };
    },
  },
  rabbitmq: {
    port: 5672,
    waitMs: 120_000,
    start: () => ({ cmd: ['rabbitmq-server', ['-detached']], info: {} }),
  },
  nats: {
    port: 4222,
    waitMs: 30_000,
    start: () => {
      fs.mkdirSync(path.dirname(NATS_PID_FILE), { recursive: true });
      return {
        cmd: [
          'start-stop-daemon',
          [
            '--start',
            '--oknodo',
            '--background',
            // down.mjs stops this process only, not every nats-server (a test's private ones).
            '--make-pidfile',
            '--pidfile',
            NATS_PID_FILE,
            '--exec',
            '/usr/sbin/nats-server',
            '--',
            '-a',
            '127.0.0.1',
            '-p',
            '4222',
            '-js',
            '-sd',
            '/var/lib/nats-server',
            '-l',
            '/var/log/nats-server.log',
          ],
        ],
        info: {},
      };
    },
  },
};

const line = (name, where, note) => console.log(`${name.padEnd(10)} ${where.padEnd(16)} (${note})`);

async function upService(name) {
  const svc = SERVICES[name];
  const where = `127.0.0.1:${svc.port}`;
  if (await portOpen(svc.port)) {
    line(name, where, 'already running');
    return;
  }
  const {
    cmd: [bin, args],
    info,
  } = svc.start();
  const r = run(bin, args, { timeout: svc.waitMs });
  if (!r.ok) throw new Error(`\`${bin} ${args.join(' ')}\` failed (exit ${r.code}): ${r.out || 'no output'}`);
  if (!(await waitForPort(svc.port, svc.waitMs))) {
    throw new Error(
      `started with \`${bin} ${args.join(' ')}\` but ${where} did not answer within ${svc.waitMs / 1000}s`,
    );
  }
  recordStarted(name, info);
  line(name, where, 'started');
}

async function upKafka() {
  const r = await startKafka({ log: (m) => console.log(m) });
  const note = r.started
    ? `started, pid ${r.pid}, Kafka ${r.version}, ${(r.ms / 1000).toFixed(1)}s`
    : r.external
      ? 'already running, not started by herald'
      : `already running, pid ${r.pid}`;
  line('kafka', KAFKA_BOOTSTRAP, note);
}

async function upElasticMq() {
  const r = await startElasticMq({ log: (m) => console.log(m) });
  const fetched = r.fetchMs ? `, jars fetched in ${(r.fetchMs / 1000).toFixed(1)}s` : '';
  const note = r.started
    ? `started, pid ${r.pid}, ElasticMQ ${r.version}, ${(r.ms / 1000).toFixed(1)}s${fetched}`
    : r.external
      ? 'already running, not started by herald'
      : `already running, pid ${r.pid}`;
  line('elasticmq', ELASTICMQ_ENDPOINT.replace('http://', ''), note);
}

async function upApicurio() {
  // Without a Java 21+ (or mvn) it cannot run here: say so before fetching a distribution it could
  // not use. A registry already answering on its port is used whatever runs it.
  const why = (await apicurioAnswers()) ? null : apicurioUnavailable();
  if (why) throw new Error(why);
  const r = await startApicurio({ log: (m) => console.log(m) });
  const fetched = r.fetchMs ? `, fetched in ${(r.fetchMs / 1000).toFixed(1)}s` : '';
  const note = r.started
    ? `started, pid ${r.pid}, Apicurio Registry ${r.version}, ${(r.ms / 1000).toFixed(1)}s${fetched}`
    : r.external
      ? 'already running, not started by herald'
      : `already running, pid ${r.pid}`;
  line('apicurio', APICURIO_URL.replace('http://', ''), note);
}

const { require } = parseArgs(process.argv.slice(2));
const failures = [];
for (const name of ALL) {
  try {
    if (name === 'kafka') await upKafka();
    else if (name === 'elasticmq') await upElasticMq();
    else if (name === 'apicurio') await upApicurio();
    else await upService(name);
  } catch (e) {
    const msg = (e?.message ? e.message : String(e)).replace(new RegExp(`^${name}: `), '');
    if (require.has(name)) {
      console.error(`up: FAILED ${name}: ${msg}`);
      failures.push(name);
    } else {
      const [first, ...rest] = msg.split('\n');
      console.warn(`up: warning: ${name} is not available (not required): ${first}`);
      // e.g. the end of mvn's output when the ElasticMQ jars could not be fetched
      if (rest.length)
        console.warn(
          rest
            .slice(-15)
            .map((l) => `  ${l}`)
            .join('\n'),
        );
    }
  }
}
if (failures.length) {
  console.error(`up: required service(s) not available: ${failures.join(', ')}`);
  process.exit(1);
}
