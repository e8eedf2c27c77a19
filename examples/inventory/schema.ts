// The tables of each service, each in its own schema beside Herald's tables for that service
// (`migrate` puts the outbox, inbox and broker tables in the same schema). Constraints hold the
// invariants even if the code were wrong: stock on hand and reserved never negative, never more
// reserved than on hand.
import { migrate } from 'herald';
import type { PoolLike } from './db.ts';

export interface Schemas {
  inventory: string;
  orders: string;
  payments: string;
  monitor: string;
  /** The PostgreSQL transport's tables, on the embedded default. */
  broker: string;
}

const namePattern = /^[a-z][a-z0-9_]{0,39}$/;

/** The schemas of one run; the prefix is checked here, the one place identifiers are built. */
export function schemasFor(prefix: string): Schemas {
  if (!namePattern.test(prefix)) {
    throw new Error(`prefix ${JSON.stringify(prefix)}: use 1-40 of a-z 0-9 _, starting with a letter`);
  }
  return {
    inventory: `${prefix}_inventory`,
    orders: `${prefix}_orders`,
    payments: `${prefix}_payments`,
    monitor: `${prefix}_monitor`,
    broker: `${prefix}_broker`,
  };
}

const inventoryTables = (s: string) => `
CREATE TABLE ${s}.products (
  id text PRIMARY KEY, sku text NOT NULL UNIQUE, name text NOT NULL,
  unit_price_cents integer NOT NULL DEFAULT 0 CHECK (unit_price_cents >= 0),
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE ${s}.warehouses (
  id text PRIMARY KEY, code text NOT NULL UNIQUE, name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE ${s}.stock (
  product_id text NOT NULL REFERENCES ${s}.products,
  warehouse_id text NOT NULL REFERENCES ${s}.warehouses,
  on_hand integer NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
  reserved integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  minimum integer NOT NULL DEFAULT 0 CHECK (minimum >= 0),
  alert_level text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (product_id, warehouse_id),
  CHECK (reserved <= on_hand));
CREATE TABLE ${s}.reservations (
  id text PRIMARY KEY, order_id text NOT NULL, warehouse_id text NOT NULL REFERENCES ${s}.warehouses,
  status text NOT NULL CHECK (status IN ('ACTIVE', 'RELEASED', 'FULFILLED')),
  release_reason text, expires_at timestamptz NOT NULL, correlation_id text,
  origin text NOT NULL DEFAULT 'api' CHECK (origin IN ('order', 'api')),
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
-- One active reservation per order at most.
CREATE UNIQUE INDEX reservations_active_order ON ${s}.reservations (order_id) WHERE status = 'ACTIVE';
CREATE INDEX ON ${s}.reservations (order_id);
CREATE INDEX ON ${s}.reservations (expires_at) WHERE status = 'ACTIVE';
CREATE TABLE ${s}.reservation_items (
  reservation_id text NOT NULL REFERENCES ${s}.reservations, product_id text NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0), unit_price_cents integer NOT NULL DEFAULT 0,
  PRIMARY KEY (reservation_id, product_id));
-- Every change to stock, with its signed effect on on_hand and reserved: the books. The event
-- that caused it is kept, with no unique constraint, so that handling an event twice would show.
CREATE TABLE ${s}.movements (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL, product_id text NOT NULL, warehouse_id text NOT NULL,
  type text NOT NULL, quantity integer NOT NULL,
  on_hand_delta integer NOT NULL, reserved_delta integer NOT NULL,
  previous_stock integer NOT NULL, new_stock integer NOT NULL,
  reference_type text, reference_id text, reason text, performed_by text, caused_by text,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON ${s}.movements (product_id, warehouse_id, seq);
CREATE INDEX ON ${s}.movements (reference_type, reference_id);`;

const orderTables = (s: string) => `
CREATE TABLE ${s}.orders (
  id text PRIMARY KEY, customer_id text NOT NULL, warehouse_id text,
  items jsonb NOT NULL, total_cents integer NOT NULL,
  -- What the simulated customer will do: pay, pay with a card that is declined, cancel, walk away,
  -- or pay after the reservation expired.
  plan text NOT NULL CHECK (plan IN ('pay', 'decline', 'cancel', 'abandon', 'late')),
  status text NOT NULL, reason text,
  -- Whether the inventory holds stock for it: HELD after reserved, RELEASED after released.
  reservation text NOT NULL DEFAULT 'NONE',
  created_at timestamptz NOT NULL DEFAULT now(), settled_at timestamptz);
CREATE INDEX ON ${s}.orders (status);`;

const paymentTables = (s: string) => `
CREATE TABLE ${s}.payments (
  id text PRIMARY KEY, order_id text NOT NULL, amount_cents integer NOT NULL,
  status text NOT NULL CHECK (status IN ('CHARGED', 'DECLINED', 'REFUNDED')),
  created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON ${s}.payments (order_id);`;

// What the monitor saw, one row per delivery it handled (no unique key: a duplicate would show).
const monitorTables = (s: string) => `
CREATE TABLE ${s}.seen (event_id text NOT NULL, type text NOT NULL, seen_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON ${s}.seen (event_id);`;

/** Drops and creates every schema of the run: Herald's tables (migrate) and the services' own. */
export async function createSchemas(db: PoolLike, schemas: Schemas): Promise<void> {
  const tables: Record<keyof Schemas, (s: string) => string> = {
    inventory: inventoryTables,
    orders: orderTables,
    payments: paymentTables,
    monitor: monitorTables,
    broker: () => '',
  };
  for (const [service, schema] of Object.entries(schemas) as [keyof Schemas, string][]) {
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await migrate(db, { schema });
    const ddl = tables[service](schema);
    if (ddl) await db.query(ddl);
  }
}
