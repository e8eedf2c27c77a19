// A read model rebuilt from history: the stock ledger, one row per movement, projected from the
// inventory's own `movement_recorded` events into a fresh table by a new consumer group that
// starts from the log (`from: 'history'`), then follows the broker. The inventory service keeps
// its `movements` table in the same transactions as it changes stock, so the rebuilt ledger can
// be compared with it, row for row.
import { type Consumer, createConsumer } from 'herald';
import type { GroupSettings } from '../db.ts';
import { MovementRecorded } from '../events.ts';

export async function rebuildLedger(o: Omit<GroupSettings, 'topics'> & { table: string }): Promise<Consumer> {
  const ledger = `${o.schema}.${o.table}`;
  await o.db.query(`CREATE TABLE IF NOT EXISTS ${ledger} (
    event_id text PRIMARY KEY, movement_id text NOT NULL, product_id text NOT NULL,
    warehouse_id text NOT NULL, type text NOT NULL, quantity integer NOT NULL,
    previous_stock integer NOT NULL, new_stock integer NOT NULL)`);
  // #region rebuild
  const consumer = createConsumer({
    transport: o.transport,
    group: o.group, // new: its own inbox, so every past event is handled again, once
    db: o.db,
    schema: o.schema, // the inventory's schema: its log is the history
    from: 'history', // the log first, then the broker from the earliest
  });
  consumer.on(MovementRecorded, async (e, { tx }) => {
    const m = e.payload;
    await tx.query(
      `INSERT INTO ${ledger} (event_id, movement_id, product_id, warehouse_id, type, quantity, previous_stock, new_stock)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [e.id, m.movementId, m.productId, m.warehouseId, m.movementType, m.quantity, m.previousStock, m.newStock],
    );
  });
  await consumer.start();
  // #endregion rebuild
  return consumer;
}
