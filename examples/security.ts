// Security: Kafka over TLS and SASL/SCRAM, and PostgreSQL roles (with passwords, over TLS when the
// URL says so) that hold only the grants their part of Herald needs. Run as a superuser's URL:
//   DATABASE_URL='postgres://postgres:…@db:5432/app?sslmode=verify-full&sslrootcert=ca.pem' \
//   KAFKA_BROKERS=kafka:9093 KAFKA_CA_FILE=kafka-ca.pem KAFKA_SASL_USERNAME=herald KAFKA_SASL_PASSWORD=… \
//   node examples/security.ts
import { randomBytes } from 'node:crypto';
import { createOutbox, createRelay, defineEvent, grantsSql, migrate } from 'herald';
import { kafka } from 'herald/kafka';
import pg from 'pg';
import { z } from 'zod';

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const schema = 'herald_examples_security';

// #region kafka
const { KAFKA_CA_FILE: caFile, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = process.env;
const transport = kafka({
  brokers,
  // TLS, verified against the CA that signed the brokers' certificates (`tls: true`: the system's CAs).
  ...(caFile ? { tls: { caFile } } : {}),
  // SASL/SCRAM: the password is checked once and never written to a log line or an error.
  ...(username && password ? { sasl: { mechanism: 'SCRAM-SHA-256' as const, username, password } } : {}),
});
// #endregion kafka

// #region roles
// Once, as a superuser: a login role per part of Herald, each with its own password (made up here;
// keep yours in a secret store). CREATE ROLE takes no parameters: format() quotes name and password.
const superuser = new pg.Pool({ connectionString: databaseUrl, max: 1 });
const roles = { migrator: 'shop_migrator', writer: 'shop_writer', relay: 'shop_relay' };
const passwords = new Map(Object.values(roles).map((role) => [role, randomBytes(18).toString('base64url')]));
for (const [role, secret] of passwords) {
  const exists = (await superuser.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount === 1;
  const verb = exists ? 'ALTER' : 'CREATE';
  const { rows } = await superuser.query<{ sql: string }>(
    `SELECT format('${verb} ROLE %I LOGIN PASSWORD %L', $1::text, $2::text) AS sql`,
    [role, secret],
  );
  await superuser.query(rows[0]?.sql as string);
}
// The migrator may create the schema (`herald grants --migrator shop_migrator` prints the same).
for (const sql of grantsSql({ schema, migrator: roles.migrator })) await superuser.query(sql);
await superuser.end();

/** The database URL (TLS settings and all) as another role. */
const as = (role: string) => {
  const url = new URL(databaseUrl);
  url.username = role;
  url.password = passwords.get(role) ?? '';
  return url.toString();
};

// The migrator creates the schema, so owns its tables, and grants the others what they need.
const migrator = new pg.Pool({ connectionString: as(roles.migrator), max: 1 });
await migrate(migrator, { schema });
const grants = grantsSql({ schema, writer: roles.writer, relay: roles.relay });
for (const sql of grants) await migrator.query(sql);
await migrator.end();
// #endregion roles
console.log(`granted ${grants.length} statements to ${roles.writer} and ${roles.relay}`);

// #region least-privilege
const OrderPlaced = defineEvent({
  type: 'shop.order.placed',
  version: 1,
  schema: z.object({ orderId: z.string() }),
  key: (p) => p.orderId,
  destination: 'shop.orders',
});

// The application writes events as shop_writer: INSERT on the log, nothing else.
const app = new pg.Pool({ connectionString: as(roles.writer), max: 1 });
const client = await app.connect();
try {
  await client.query('BEGIN');
  await createOutbox({ schema, source: '/shop' }).add(client, OrderPlaced({ orderId: `o-${Date.now()}` }));
  await client.query('COMMIT');
  // It cannot read the events back, let alone change them.
  await client
    .query(`SELECT * FROM ${schema}.log`)
    .catch((error) => console.log(`writer reads the log: ${error.code}`));
} finally {
  client.release();
  await app.end();
}

// The relay publishes as shop_relay (partition upkeep is the owner's: retentionDays 0).
const relay = createRelay({ db: as(roles.relay), schema, transport, retentionDays: 0 });
const { published } = await relay.drain();
console.log(
  `relay as ${roles.relay} published ${published} (tls: ${caFile ? 'yes' : 'no'}, sasl: ${password ? 'yes' : 'no'})`,
);
// #endregion least-privilege
await transport.close();
