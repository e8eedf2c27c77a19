// The purchasing policy: when a low-stock alert turns CRITICAL or OUT_OF_STOCK, order more from
// the supplier. The delivery is booked with the alert as its reference, so it is added once even
// if the alert were handled again.
import type { Consumer } from 'herald';
import { type GroupSettings, serviceConsumer } from '../db.ts';
import { LowStockAlert } from '../events.ts';
import { handlerContext } from './consumer.ts';
import { replenish } from './movements.ts';

export function purchasingConsumer(
  o: GroupSettings & {
    /** Units ordered per alert, as a multiple of the minimum. */
    multiple: number;
  },
): Consumer {
  const consumer = serviceConsumer(o, '/inventory/purchasing');
  consumer.on(LowStockAlert, async (event, context) => {
    const alert = event.payload;
    // No minimum set means nobody manages a reorder point for it: alert, but order nothing.
    if (alert.severity === 'WARNING' || alert.minimumStock === 0) return;
    const quantity = alert.minimumStock * o.multiple;
    await replenish(
      { ...handlerContext(o.schema, event, context), performedBy: 'purchasing' },
      {
        warehouseId: alert.warehouseId,
        items: [{ productId: alert.productId, quantity }],
        supplierId: 'acme-supplies',
        reference: `restock-${alert.alertId}`,
      },
    );
  });
  return consumer;
}
