// What publishing alone reaches on this machine, beside the relay's drain in the same run: the
// bound a relay through this Kafka client cannot pass. Two floors, on a topic of their own, with
// the events of the drain made in memory (no database):
// - `transport`: Herald's Kafka transport publishing them as the relay does (each row made into a
//   message, batches of the relay's size, one after the other), i.e. the relay without PostgreSQL;
// - `client`: @platformatic/kafka's producer alone, with the same settings (idempotent, acks=all),
//   sending records built before the clock starts, in requests of the transport's size.
import { randomUUID } from 'node:crypto';
import { loadKafka } from '../src/transports/kafka/client.ts';
import { defaultMaxRequestBytes } from '../src/transports/kafka/options.ts';
import { chunkBySize, toRecord } from '../src/transports/kafka/wire.ts';
import { toMessage } from '../src/wire/outgoing.ts';
import { cpuMeter } from './cpu.ts';
import { heraldBatchSize } from './herald-system.ts';
import { storedEvent } from './payload.ts';
import { progress, round } from './stats.ts';
import { uniqueName } from './topic.ts';
import { type BenchEnv, type BenchTransport, makeTransport } from './transports.ts';

export interface FloorRun {
  eventsPerSec: number;
  /** CPU seconds of the bench's main thread (where publishing runs) per 10,000 events. */
  threadCpuSecPer10k: number;
  /** Share of all the machine's cores busy meanwhile (the broker's included), in per cent. */
  machineBusyPct: number | null;
}

export interface KafkaFloor {
  kafkaFloor: { events: number; transport: FloorRun; client: FloorRun };
}

/** Events as the log would hold them: the drain's payloads, with ids of their own. */
const storedEvents = (n: number) => Array.from({ length: n }, (_, i) => storedEvent(i, { id: randomUUID() }));

/** Times `work` over `events` events: events/s, the main thread's CPU and the machine's. */
async function timed(events: number, work: () => Promise<void>): Promise<FloorRun> {
  const meter = cpuMeter();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  return { eventsPerSec: round(events / seconds, 0), ...meter.stop(events) };
}

/** Both floors, on a fresh topic of `transport` (Kafka's), `events` events each. */
export async function kafkaFloor(
  transport: BenchTransport,
  brokers: readonly string[],
  events: number,
): Promise<KafkaFloor> {
  const topic = await transport.prepare('herald-bench-floor');
  const rows = storedEvents(events);
  const warm = storedEvents(200);
  try {
    progress(`floor: Herald's Kafka transport alone, ${events} events from memory`);
    const herald = transport.create('herald-bench-floor');
    let transportRun: FloorRun;
    try {
      await herald.connect();
      await herald.publish(warm.map((r) => toMessage(r, () => topic)));
      transportRun = await timed(events, async () => {
        for (let i = 0; i < rows.length; i += heraldBatchSize) {
          await herald.publish(rows.slice(i, i + heraldBatchSize).map((r) => toMessage(r, () => topic)));
        }
      });
    } finally {
      await herald.close();
    }

    progress(`floor: @platformatic/kafka's producer alone, ${events} records built beforehand`);
    const lib = await loadKafka();
    const producer = new lib.Producer({
      clientId: 'herald-bench-floor',
      bootstrapBrokers: [...brokers],
      idempotent: true,
      acks: lib.ProduceAcks.ALL,
      partitioner: lib.compatibilityPartitioner,
      retries: 1,
    });
    let clientRun: FloorRun;
    try {
      await producer.send({ messages: warm.map((r) => toRecord(toMessage(r, () => topic))) });
      // The transport's requests: chunks of its default maxRequestBytes, records built beforehand.
      const requests = chunkBySize(
        rows.map((r) => toRecord(toMessage(r, () => topic))),
        defaultMaxRequestBytes,
      );
      clientRun = await timed(events, async () => {
        for (const messages of requests) await producer.send({ messages });
      });
    } finally {
      await producer.close();
    }
    return { kafkaFloor: { events, transport: transportRun, client: clientRun } };
  } finally {
    await transport.remove(topic);
  }
}

/** Both floors on a transport of their own, written as a JSON line or a sentence. */
export async function reportKafkaFloor(env: BenchEnv, partitions: number, events: number, json: boolean) {
  const transport = await makeTransport('kafka', env, { group: uniqueName('herald-bench'), partitions });
  try {
    const floor = await kafkaFloor(transport, env.brokers, events);
    const { transport: t, client: c } = floor.kafkaFloor;
    process.stdout.write(
      json
        ? `${JSON.stringify(floor)}\n`
        : `kafka floor (${events} events from memory, no database): Herald's transport ${t.eventsPerSec} events/s ` +
            `(thread ${t.threadCpuSecPer10k} CPU s/10k, machine ${t.machineBusyPct} % busy); ` +
            `@platformatic/kafka alone ${c.eventsPerSec} events/s (thread ${c.threadCpuSecPer10k}, machine ${c.machineBusyPct} %)\n`,
    );
  } finally {
    await transport.close();
  }
}
