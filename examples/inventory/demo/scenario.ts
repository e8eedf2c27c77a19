// The demo's scenario: a catalog set up through the inventory's HTTP API, then a stream of
// orders where most customers pay, and some are declined, cancel, walk away, pay only after
// their reservation expired, or ask for more than there is.
import type { NewOrder, Plan } from '../orders/service.ts';

export const warehouses = [
  { id: 'wh-east', code: 'EAST', name: 'East distribution centre' },
  { id: 'wh-west', code: 'WEST', name: 'West distribution centre' },
];
export const products = [
  { id: 'p-keyboard', sku: 'KB-101', name: 'Mechanical keyboard', unitPriceCents: 8900 },
  { id: 'p-mouse', sku: 'MS-202', name: 'Wireless mouse', unitPriceCents: 2900 },
  { id: 'p-monitor', sku: 'MN-303', name: '27" monitor', unitPriceCents: 27900 },
  { id: 'p-dock', sku: 'DK-404', name: 'USB-C dock', unitPriceCents: 15900 },
  { id: 'p-headset', sku: 'HS-505', name: 'Headset', unitPriceCents: 6900 },
  { id: 'p-webcam', sku: 'WC-606', name: 'Webcam', unitPriceCents: 5900 },
];
export const initialStock = { 'wh-east': 40, 'wh-west': 25 } as const;
export const minimum = 15;

async function call(apiUrl: string, method: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-user': 'demo-setup' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Products, warehouses, first deliveries and minimum levels, through the inventory's HTTP API. */
export async function setUpCatalog(apiUrl: string): Promise<void> {
  for (const w of warehouses) await call(apiUrl, 'POST', '/warehouses', w);
  for (const p of products) await call(apiUrl, 'POST', '/products', p);
  for (const w of warehouses) {
    const quantity = initialStock[w.id as keyof typeof initialStock];
    const items = products.map((p) => ({ productId: p.id, quantity }));
    await call(apiUrl, 'POST', '/stock/replenish', { warehouseId: w.id, items, reference: `opening-${w.id}` });
    for (const p of products) {
      await call(apiUrl, 'PUT', '/stock/minimum', { productId: p.id, warehouseId: w.id, minimum });
    }
  }
}

/** A small seeded generator (mulberry32): one seed, one scenario. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The next order of the scenario; `oversized` ones ask for more than any warehouse holds. */
export function nextOrder(rand: () => number, n: number): NewOrder & { oversized: boolean } {
  const r = rand();
  const oversized = r < 0.05;
  const plan: Plan = oversized
    ? 'pay'
    : r < 0.15
      ? 'decline'
      : r < 0.23
        ? 'cancel'
        : r < 0.29
          ? 'abandon'
          : r < 0.33
            ? 'late'
            : 'pay';
  const count = 1 + Math.floor(rand() * 3);
  const shuffled = [...products];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j] as (typeof products)[number], shuffled[i] as (typeof products)[number]];
  }
  const chosen = shuffled.slice(0, count);
  const items = chosen.map((p) => ({
    productId: p.id,
    sku: p.sku,
    quantity: oversized ? 500 : 1 + Math.floor(rand() * 4),
    unitPriceCents: p.unitPriceCents,
  }));
  return { customerId: `c-${1 + (n % 97)}`, items, plan, oversized };
}
