// A shop's order events as JSON Schema (derived from zod), evolving while consumers run: the
// billing service still runs v1 when the producer ships v2, then v3. See docs/schemas.md.

import { defineEvent } from 'herald';
import { z } from 'zod';

const orderV1 = z.object({ orderId: z.string(), amount: z.number(), currency: z.string() });

// #region producer
export const OrderPlacedV1 = defineEvent({
  type: 'shop.order.placed',
  version: 1,
  schema: orderV1,
  key: (p) => p.orderId,
});

// v2 adds the sales channel. FORWARD compatible: a v1 reader ignores a field it does not know.
export const OrderPlacedV2 = defineEvent({
  type: 'shop.order.placed',
  version: 2,
  schema: orderV1.extend({ channel: z.enum(['web', 'shop']) }),
  key: (p) => p.orderId,
});

// v3 moves amount and currency into `price`: no v1 or v2 reader can read that as it is.
export const OrderPlacedV3 = defineEvent({
  type: 'shop.order.placed',
  version: 3,
  schema: z.object({
    orderId: z.string(),
    channel: z.enum(['web', 'shop']),
    price: z.object({ amount: z.number(), currency: z.string() }),
  }),
  key: (p) => p.orderId,
});
// #endregion producer

// #region consumer
// The billing service's definition: still v1, deployed before the producers. It takes v2 as it
// is (`accepts: 'newer-compatible'`: the payload validates against v1's schema, `channel`
// stripped) and v3 through the downcaster its team shipped when v3 was announced.
export const OrderPlacedForBilling = defineEvent({
  type: 'shop.order.placed',
  version: 1,
  schema: orderV1,
  key: (p) => p.orderId,
  accepts: 'newer-compatible',
  downcasters: {
    3: (v3: z.infer<typeof OrderPlacedV3.schema>) => ({
      orderId: v3.orderId,
      channel: v3.channel,
      amount: v3.price.amount,
      currency: v3.price.currency,
    }),
  },
});
// #endregion consumer
