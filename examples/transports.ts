// One order event through the relay and a consumer, on the broker named on the command line:
//   node examples/transports.ts rabbitmq|nats|sqs|postgres
// with DATABASE_URL and the broker at its default local address (RABBITMQ_URL, NATS_URL,
// SQS_ENDPOINT override them). The part that differs per broker is only the transport.
import { createConsumer, createOutbox, createRelay, defineEvent, migrate, silentLogger, type Transport } from 'herald';
import pg from 'pg';
import { z } from 'zod';

const name = process.argv[2] ?? 'postgres';
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const group = 'billing';

async function transportFor(broker: string): Promise<Transport> {
  switch (broker) {
    case 'rabbitmq': {
      // #region rabbitmq
      const { rabbitmq } = await import('herald/rabbitmq');
      return rabbitmq({ url: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672', groups: [group] });
      // #endregion rabbitmq
    }
    case 'nats': {
      // #region nats
      const { nats } = await import('herald/nats');
      return nats({ servers: process.env.NATS_URL ?? '127.0.0.1:4222' });
      // #endregion nats
    }
    case 'sqs': {
      // #region sqs
      const { sqs } = await import('herald/sqs');
      return sqs({
        endpoint: process.env.SQS_ENDPOINT ?? 'http://127.0.0.1:9324',
        region: 'elasticmq',
        // ElasticMQ checks no signature; on AWS, leave these out and the SDK finds the role's.
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        groups: [group],
      });
      // #endregion sqs
    }
    default: {
      // #region postgres
      const { postgres } = await import('herald/postgres');
      return postgres({ db: databaseUrl, schema });
      // #endregion postgres
    }
  }
}

const pool = new pg.Pool({ connectionString: databaseUrl });
const schema = `herald_transports_example_${process.pid}`;
await migrate(pool, { schema });
const transport = await transportFor(name);
const OrderPlaced = defineEvent({
  type: 'order.placed',
  version: 1,
  destination: `orders-${process.pid}`,
  schema: z.object({ orderId: z.string(), total: z.number().int() }),
  key: (p) => p.orderId,
});

const seen: string[] = [];
const consumer = createConsumer({ transport, group, db: pool, schema, lagIntervalMs: 0 });
consumer.on(OrderPlaced, (event) => {
  seen.push(event.payload.orderId);
});
await consumer.start();
const relay = createRelay({ db: pool, schema, transport, logger: silentLogger });
await relay.start();

const tx = await pool.connect();
await tx.query('BEGIN');
await createOutbox({ schema }).add(tx, OrderPlaced({ orderId: 'o-1', total: 4200 }));
await tx.query('COMMIT');
tx.release();

const deadline = Date.now() + 30_000;
while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
console.log(`${name}: handled ${seen.join(', ') || 'nothing'}`);

await consumer.stop();
await relay.stop();
await transport.close();
await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
await pool.end();
