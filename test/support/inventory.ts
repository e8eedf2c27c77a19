import { after, before } from 'node:test';
import { openStack, type Stack } from '../../examples/inventory/db.ts';
import { setUpCatalog } from '../../examples/inventory/demo/scenario.ts';
import { type System, startSystem } from '../../examples/inventory/demo/system.ts';
import { brokers, databaseUrl, uniqueName } from './env.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON of many shapes, checked field by field in the tests
type Json = Record<string, any>;

export interface InventoryFixture {
  readonly stack: Stack;
  readonly system: System;
  /** A JSON request to the inventory's HTTP API: its status and parsed body. */
  api(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Json }>;
  stockOf(productId: string, warehouseId: string): Promise<{ onHand: number; reserved: number }>;
}

/**
 * The inventory example (examples/inventory) on PostgreSQL and Kafka in this process, as the demo
 * runs it, with the demo's catalog: made before a test file's tests, removed after.
 */
export function inventoryFixture(): InventoryFixture {
  let stack: Stack | undefined;
  let system: System | undefined;
  const fixture: InventoryFixture = {
    get stack() {
      return stack as Stack;
    },
    get system() {
      return system as System;
    },
    async api(method, path, body, headers = {}) {
      const res = await fetch(`${fixture.system.apiUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Json };
    },
    async stockOf(productId, warehouseId) {
      return (await fixture.api('GET', `/stock?productId=${productId}&warehouseId=${warehouseId}`)).body[0];
    },
  };
  before(async () => {
    stack = await openStack({ DATABASE_URL: databaseUrl, KAFKA_BROKERS: brokers.join(',') }, 'unused');
    system = await startSystem(stack, {
      prefix: uniqueName('inv'),
      runId: Date.now().toString(36),
      reservationTtlMs: 8000,
      expiryIntervalMs: 200,
      port: 0,
    });
    await setUpCatalog(system.apiUrl);
  });
  after(async () => {
    await system?.stop();
    for (const schema of Object.values(system?.schemas ?? {}))
      await stack?.db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await stack?.transport.close();
    await stack?.db.end();
  });
  return fixture;
}
