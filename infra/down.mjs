#!/usr/bin/env node
import { APICURIO_URL, stopApicurio } from './apicurio.mjs';
import { ELASTICMQ_ENDPOINT, stopElasticMq } from './elasticmq.mjs';
import { KAFKA_BOOTSTRAP, stopKafka } from './kafka.mjs';
// Stops only the services that infra/up.mjs (or infra/kafka.mjs startKafka(),
// infra/elasticmq.mjs startElasticMq()) started, as recorded in .cache/infra/started.json.
//
//   node infra/down.mjs
import { forgetStarted, NATS_PID_FILE, readState, run } from './lib.mjs';

const STOP = {
  postgres: (info) => ['pg_ctlcluster', ['--skip-systemctl-redirect', info.version, 'main', 'stop']],
  rabbitmq: () => ['rabbitmqctl', ['stop']],
  // The one up.mjs started (its pid file), not any other nats-server (a test's private ones).
  nats: () => [
    'start-stop-daemon',
    ['--stop', '--oknodo', '--retry', '10', '--pidfile', NATS_PID_FILE, '--exec', '/usr/sbin/nats-server'],
  ],
};

const started = readState().services;
const order = ['apicurio', 'elasticmq', 'kafka', 'nats', 'rabbitmq', 'postgres'].filter((n) => n in started);
if (!order.length) {
  console.log('down: nothing to stop (herald infra started nothing that is still recorded)');
  process.exit(0);
}
let failed = false;
for (const name of order) {
  try {
    if (name === 'apicurio') {
      const r = await stopApicurio();
      console.log(
        r.stopped
          ? `apicurio   stopped pid ${r.pid} (${APICURIO_URL}${r.forced ? ', had to SIGKILL' : ''}, ${(r.ms / 1000).toFixed(1)}s)`
          : 'apicurio   was not running',
      );
    } else if (name === 'elasticmq') {
      const r = await stopElasticMq();
      console.log(
        r.stopped
          ? `elasticmq  stopped pid ${r.pid} (${ELASTICMQ_ENDPOINT}${r.forced ? ', had to SIGKILL' : ''}, ${(r.ms / 1000).toFixed(1)}s)`
          : 'elasticmq  was not running',
      );
    } else if (name === 'kafka') {
      const r = await stopKafka();
      console.log(
        r.stopped
          ? `kafka      stopped pid ${r.pid} (${KAFKA_BOOTSTRAP}${r.forced ? ', had to SIGKILL' : ''}, ${(r.ms / 1000).toFixed(1)}s)`
          : 'kafka      was not running',
      );
    } else {
      const [bin, args] = STOP[name](started[name]);
      const r = run(bin, args, { timeout: 120_000 });
      if (!r.ok) throw new Error(`\`${bin} ${args.join(' ')}\` failed (exit ${r.code}): ${r.out || 'no output'}`);
      forgetStarted(name);
      console.log(`${name.padEnd(10)} stopped (${bin} ${args.join(' ')})`);
    }
  } catch (e) {
    failed = true;
    console.error(`down: FAILED to stop ${name}: ${e?.message ? e.message : e}`);
  }
}
process.exit(failed ? 1 : 0);
