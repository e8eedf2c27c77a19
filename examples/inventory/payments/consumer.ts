// The payment step: charges the card of a payment request, once per request. A declined card
// answers `payment.failed`, which makes the order saga compensate.
import { type Consumer, uuidv7 } from 'herald';
import { type GroupSettings, serviceConsumer } from '../db.ts';
import { PaymentCharged, PaymentFailed, PaymentRequested } from '../events.ts';

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
  return consumer;
}
