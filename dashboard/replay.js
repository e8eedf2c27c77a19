import { api } from './api.js';
import { count, h, table, time } from './dom.js';

const list = (text) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Start a replay with `herald replay`'s filters and watch its progress; admins can cancel. */
export function replayPage(container, session) {
  const admin = session.role === 'admin';
  let timer;
  const jobs = h('div');
  const message = h('p', { class: 'error', 'data-testid': 'replay-error' });
  const field = (label, name, value = '', placeholder = '') =>
    h('label', {}, label, h('input', { name, value, placeholder }));

  const form = admin
    ? h(
        'form',
        {
          class: 'inline',
          'data-testid': 'replay-form',
          onsubmit: async (event) => {
            event.preventDefault();
            const f = new FormData(event.target);
            const body = { from: f.get('from') };
            if (f.get('to')) body.to = f.get('to');
            if (list(f.get('types')).length) body.types = list(f.get('types'));
            if (list(f.get('keys')).length) body.keys = list(f.get('keys'));
            if (list(f.get('aggregateTypes')).length) body.aggregateTypes = list(f.get('aggregateTypes'));
            if (f.get('destination')) body.destination = f.get('destination');
            if (f.get('dryRun')) body.dryRun = true;
            message.textContent = '';
            try {
              await api('replays', { method: 'POST', body });
            } catch (error) {
              message.textContent = error.message;
            }
            draw();
          },
        },
        field('From', 'from', '1h', '2h or 2025-06-01T00:00Z'),
        field('To', 'to', '', 'now'),
        field('Types', 'types', '', 'a.b, c.d'),
        field('Keys', 'keys', '', 'order-1, order-2'),
        field('Aggregate types', 'aggregateTypes', '', 'order'),
        field('Destination', 'destination', '', 'their own topics'),
        h('label', {}, 'Dry run', h('input', { type: 'checkbox', name: 'dryRun' })),
        h('button', { class: 'primary', type: 'submit' }, 'Start replay'),
      )
    : h('p', { class: 'muted' }, 'Read-only: replays can be watched, not started.');

  const draw = async () => {
    clearTimeout(timer);
    try {
      const { replays } = await api('replays');
      jobs.replaceChildren(
        table(
          [
            { title: 'started', cell: (j) => time(j.startedAt) },
            { title: 'window', cell: (j) => `${time(j.filter.from)} → ${time(j.filter.to)}` },
            { title: 'filters', cell: (j) => describe(j.filter) },
            {
              title: 'progress',
              cell: (j) => [
                h('progress', {
                  max: Math.max(1, j.total ?? 1),
                  value: j.state === 'completed' && !j.total ? 1 : j.done,
                }),
                h(
                  'div',
                  { class: 'muted' },
                  `${count(j.done)} of ${count(j.total)}${j.filter.dryRun ? ' (dry run)' : ''}`,
                ),
              ],
            },
            {
              title: 'state',
              cell: (j) =>
                h(
                  'span',
                  { class: j.state === 'failed' ? 'bad' : j.state === 'completed' ? 'ok' : '', 'data-state': j.state },
                  j.error ? `${j.state}: ${j.error.message}` : j.state,
                ),
            },
            ...(admin
              ? [
                  {
                    title: '',
                    cell: (j) =>
                      j.state === 'running'
                        ? h(
                            'button',
                            {
                              onclick: async () => {
                                await api(`replays/${j.id}/cancel`, { method: 'POST' });
                                draw();
                              },
                            },
                            'Cancel',
                          )
                        : null,
                  },
                ]
              : []),
          ],
          replays,
          { empty: 'No replay started from this server yet.', testid: 'replays' },
        ),
      );
      if (replays.some((j) => j.state === 'running')) timer = setTimeout(draw, 500);
    } catch (error) {
      jobs.replaceChildren(h('p', { class: 'error' }, error.message));
    }
  };
  container.replaceChildren(h('h1', {}, 'Replay'), form, message, h('h2', {}, 'Replays'), jobs);
  draw();
  return () => clearTimeout(timer);
}

function describe(f) {
  const parts = [];
  if (f.types.length) parts.push(`types ${f.types.join(', ')}`);
  if (f.aggregateTypes?.length) parts.push(`aggregate types ${f.aggregateTypes.join(', ')}`);
  if (f.keys.length) parts.push(`keys ${f.keys.join(', ')}`);
  if (f.destination) parts.push(`to ${f.destination}`);
  return parts.join('; ') || 'every event';
}
