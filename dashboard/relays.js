import { api } from './api.js';
import { age, count, h, table, time } from './dom.js';

/** Relay instances and which of them leases each shard. */
export function relaysPage(container) {
  const draw = async () => {
    try {
      const r = await api('relays');
      const owners = new Map(r.relays.map((relay, i) => [relay.id, i + 1]));
      container.replaceChildren(
        h('h1', {}, 'Relays and shard leases'),
        table(
          [
            { title: '#', num: true, cell: (x) => owners.get(x.id) },
            { title: 'relay', cell: (x) => h('span', { class: 'mono' }, x.id) },
            { title: 'started', cell: (x) => time(x.startedAt) },
            { title: 'heartbeat', num: true, cell: (x) => `${age(x.heartbeatAgeSeconds)} ago` },
            { title: 'state', cell: (x) => h('span', { class: x.alive ? 'ok' : 'bad' }, x.alive ? 'alive' : 'silent') },
            { title: 'shards held', num: true, cell: (x) => count(x.shards.length) },
          ],
          r.relays,
          { empty: 'no relay has run on this schema recently', testid: 'relay-table' },
        ),
        h('h2', {}, `Shards (${r.shards.length}; ${r.unheldShards.length} held by no relay)`),
        h(
          'div',
          { class: 'shards', 'data-testid': 'shards' },
          r.shards.map((s) =>
            h(
              'div',
              {
                class: `shard${s.heldBy ? '' : ' unheld'}${s.events > 0 ? ' backlog' : ''}`,
                title: `shard ${s.shard}: ${s.heldBy ? `relay ${s.heldBy}` : 'no relay'}, ${s.events} pending`,
              },
              s.heldBy ? `${s.shard}·${owners.get(s.heldBy)}` : String(s.shard),
            ),
          ),
        ),
        h('p', { class: 'muted' }, 'Each cell: shard·relay number. Red: no relay holds it; outlined: events waiting.'),
      );
    } catch (error) {
      container.replaceChildren(h('p', { class: 'error' }, error.message));
    }
  };
  draw();
  const timer = setInterval(draw, 5000);
  return () => clearInterval(timer);
}
