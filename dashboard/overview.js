import { api } from './api.js';
import { lineChart } from './charts.js';
import { age, count, h, table } from './dom.js';

/** Pending events, oldest age, throughput and lag over time, health of relays and consumer groups. */
export function overviewPage(container) {
  let timer;
  const draw = async () => {
    try {
      const [status, history] = await Promise.all([api('status'), api('status/history')]);
      const samples = history.samples;
      const consumerDead = status.consumers.reduce((n, g) => n + g.deadLetters.pending, 0);
      container.replaceChildren(
        h(
          'h1',
          {},
          'Overview ',
          h(
            'span',
            { class: status.healthy ? 'ok' : 'bad', 'data-testid': 'health' },
            status.healthy ? 'healthy' : 'unhealthy',
          ),
        ),
        status.problems.length > 0
          ? h(
              'ul',
              { class: 'bad' },
              status.problems.map((p) => h('li', {}, p)),
            )
          : null,
        h(
          'div',
          { class: 'cards' },
          card('Pending events', count(status.backlog.events), 'pending'),
          card('Oldest unpublished', age(status.backlog.oldestAgeSeconds), 'oldest'),
          card('Written / s', count(status.rates.writtenPerSecond), 'written'),
          card('Published / s', count(status.rates.publishedPerSecond), 'published'),
          card('Dead letters', count(status.deadLetters.pending + consumerDead), 'dead-letters'),
          card('Relays alive', count(status.relays.filter((r) => r.alive).length), 'relays'),
        ),
        h(
          'div',
          { class: 'charts' },
          lineChart(
            'Throughput (events/s, last 60 s)',
            samples,
            [
              { name: 'written', value: (s) => s.writtenPerSecond },
              { name: 'published', value: (s) => s.publishedPerSecond },
            ],
            { testid: 'chart-throughput' },
          ),
          lineChart(
            'Backlog and lag',
            samples,
            [
              { name: 'pending events', value: (s) => s.pending },
              { name: 'consumer lag', value: (s) => s.consumerLag },
            ],
            { testid: 'chart-lag' },
          ),
        ),
        h('h2', {}, 'Relays'),
        table(
          [
            { title: 'relay', cell: (r) => h('span', { class: 'mono' }, r.id) },
            { title: 'state', cell: (r) => h('span', { class: r.alive ? 'ok' : 'bad' }, r.alive ? 'alive' : 'silent') },
            { title: 'shards', num: true, cell: (r) => count(r.shards.length) },
            { title: 'heartbeat', num: true, cell: (r) => `${age(r.heartbeatAgeSeconds)} ago` },
          ],
          status.relays,
          { empty: 'no relay has run on this schema recently', testid: 'relays' },
        ),
        h('h2', {}, 'Consumer groups'),
        table(
          [
            { title: 'group', cell: (g) => g.group },
            { title: 'lag', num: true, cell: (g) => count(g.lag) },
            {
              title: 'measured',
              num: true,
              cell: (g) => (g.measuredAgeSeconds === null ? 'never' : `${age(g.measuredAgeSeconds)} ago`),
            },
            { title: 'state', cell: (g) => groupState(g) },
            { title: 'dead letters', num: true, cell: (g) => count(g.deadLetters.pending) },
          ],
          status.consumers,
          { empty: 'no consumer group has stored its lag', testid: 'consumers' },
        ),
      );
    } catch (error) {
      container.replaceChildren(h('p', { class: 'error' }, error.message));
    }
  };
  draw();
  timer = setInterval(draw, 5000);
  return () => clearInterval(timer);
}

function card(label, value, testid) {
  return h(
    'div',
    { class: 'card', 'data-testid': `card-${testid}` },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, value),
  );
}

// Consumers store their lag every few seconds: a measurement much older means none is running.
function groupState(g) {
  if (g.measuredAgeSeconds === null) return h('span', { class: 'muted' }, 'no lag stored');
  return g.measuredAgeSeconds < 60
    ? h('span', { class: 'ok' }, 'running')
    : h('span', { class: 'bad' }, 'not reporting');
}
