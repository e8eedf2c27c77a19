import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generatePrisma } from '../clients/harness.ts';

const run = promisify(execFile);

// The examples docs/clients.md shows, one per client: an order and its event in the client's
// transaction, then a consumer whose handler writes the shipment through the client's own tx.
describe('client examples', () => {
  before(() => {
    generatePrisma(fileURLToPath(new URL('../../examples/clients/prisma/', import.meta.url)));
  });
  const examples: [string, string[], string][] = [
    ['node-postgres', ['examples/clients/node-postgres.ts'], 'node-postgres'],
    ['postgres.js', ['examples/clients/postgres-js.ts'], 'postgres.js'],
    ['Kysely', ['examples/clients/kysely.ts'], 'kysely'],
    ['Drizzle on node-postgres', ['examples/clients/drizzle.ts'], 'drizzle on node-postgres'],
    ['Drizzle on postgres.js', ['examples/clients/drizzle.ts', 'postgres-js'], 'drizzle on postgres.js'],
    ['Knex', ['examples/clients/knex.ts'], 'knex'],
    ['Prisma', ['examples/clients/prisma.ts'], 'prisma'],
    ['TypeORM', ['examples/clients/typeorm.ts'], 'typeorm'],
    ['MikroORM', ['examples/clients/mikro-orm.ts'], 'mikro-orm'],
    ['Sequelize', ['examples/clients/sequelize.ts'], 'sequelize'],
  ];
  for (const [name, args, label] of examples) {
    it(`${name}: the order, its event and one shipment`, async () => {
      const { stdout } = await run(process.execPath, args, { env: { ...process.env, HERALD_LOG_LEVEL: 'warn' } });
      assert.match(stdout, new RegExp(`^${label.replace('.', '\\.')}: orders 1, events 1, shipments 1$`, 'm'));
    });
  }
});
