// The payment step: charges the card of a payment request, once per request. A declined card
// answers `payment.failed`, which makes the order saga compensate. A charged order cancelled
// later (its goods were gone at fulfilment) is refunded.
import { type Consumer, uuidv7 } from 'herald';
import { type GroupSettings, serviceConsumer } from '../db.ts';
import { OrderCancelled, PaymentCharged, PaymentFailed, PaymentRefunded, PaymentRequested } from '../events.ts';

export function paymentConsumer(o: GroupSettings): Consumer {
  const consumer = serviceConsumer(o, '/payments');
  consumer.on(PaymentRequested, async (event, { tx, emit }) => {
    const { orderId, amountCents, card } = event.payload;
    const declined = card === 'tok_declined';
    const paymentId = uuidv7();
    await tx.query(`INSERT INTO ${o.schema}.payments (id, order_id, amount_cents, status) VALUES ($1, $2, $3, $4)`, [
      paymentId,
      orderId,
      amountCents,
      declined ? 'DECLINED' : 'CHARGED',
    ]);
    await emit(
      declined
        ? PaymentFailed({ orderId, reason: 'card declined' })
        : PaymentCharged({ orderId, paymentId, amountCents }),
    );
  });
  // A cancelled order that was charged (out of stock after payment) is refunded, once.
  consumer.on(OrderCancelled, async (event, { tx, emit }) => {
    const { rows } = await tx.query<{ id: string; amount_cents: number }>(
      `UPDATE ${o.schema}.payments SET status = 'REFUNDED' WHERE order_id = $1 AND status = 'CHARGED'
       RETURNING id, amount_cents`,
      [event.payload.orderId],
    );
    for (const p of rows) {
      await emit(PaymentRefunded({ orderId: event.payload.orderId, paymentId: p.id, amountCents: p.amount_cents }));
    }
  });
  return consumer;
}
