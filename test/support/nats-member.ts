/**
 * A group member in a process of its own, for test/transports/nats/group.test.ts: reads `count` messages of
 * `topic` as `group`, acknowledges the first `acked`, says so on stdout, and waits to be killed.
 * Usage: node nats-member.ts <servers> <group> <topic> <count> <acked>
 */
import { nats } from '../../src/transports/nats/index.ts';
import type { Delivery } from '../../src/transports/transport.ts';

const [servers = '', group = '', topic = '', count = '0', acked = '0'] = process.argv.slice(2);
const transport = nats({ servers, timeoutMs: 2000 });
const subscription = await (transport.subscribe as NonNullable<typeof transport.subscribe>)({ group, topics: [topic] });
const got: Delivery[] = [];
for await (const d of subscription) {
  got.push(d);
  if (got.length === Number(count)) break;
}
await got[Number(acked) - 1]?.ack();
process.stdout.write(`read ${got.length}, acked ${acked}\n`);
setInterval(() => {}, 60_000);
