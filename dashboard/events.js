import { api } from './api.js';
import { h, table, time } from './dom.js';

/** Events of the log by id, key, type or time written. */
export function eventsPage(container) {
  const results = h('div', { 'data-testid': 'event-results' });
  const detail = h('div');
  const search = async (event) => {
    event?.preventDefault();
    const f = new FormData(form);
    const q = new URLSearchParams();
    for (const name of ['id', 'key', 'type', 'aggregateType', 'aggregateId', 'from', 'to']) {
      const v = String(f.get(name) ?? '').trim();
      if (v) q.set(name, v);
    }
    q.set('limit', '100');
    try {
      const { events } = await api(`events?${q}`);
      detail.replaceChildren();
      results.replaceChildren(
        table(
          [
            { title: 'written', cell: (e) => time(e.createdAt) },
            {
              title: 'id',
              cell: (e) =>
                h(
                  'a',
                  {
                    href: '#events',
                    class: 'mono',
                    onclick: (ev) => {
                      ev.preventDefault();
                      show(e);
                    },
                  },
                  e.id,
                ),
            },
            { title: 'type', cell: (e) => e.type },
            { title: 'key', cell: (e) => e.partitionKey },
            { title: 'destination', cell: (e) => e.destination ?? '(by type)' },
            {
              title: 'published',
              cell: (e) => h('span', { class: e.published ? 'ok' : 'bad' }, e.published ? 'yes' : 'not yet'),
            },
          ],
          events,
          { empty: 'No event matches.' },
        ),
      );
    } catch (error) {
      results.replaceChildren(h('p', { class: 'error' }, error.message));
    }
  };
  const show = (e) =>
    detail.replaceChildren(
      h('h2', {}, `${e.type} ${e.id}`),
      h('pre', { 'data-testid': 'event-payload' }, JSON.stringify(e.payload, null, 2)),
    );
  const input = (label, name, placeholder) => h('label', {}, label, h('input', { name, placeholder }));
  const form = h(
    'form',
    { class: 'inline', onsubmit: search },
    input('Id', 'id', 'event id'),
    input('Key', 'key', 'partition key'),
    input('Type', 'type', 'event type'),
    input('Aggregate type', 'aggregateType', 'order'),
    input('Aggregate id', 'aggregateId', 'o-1001'),
    input('From', 'from', '2h or ISO time'),
    input('To', 'to', 'now'),
    h('button', { class: 'primary', type: 'submit' }, 'Search'),
  );
  container.replaceChildren(h('h1', {}, 'Events'), form, results, detail);
  search();
  return () => {};
}
