import { api } from './api.js';
import { count, h, table, time } from './dom.js';

/** Pending dead letters grouped by failure, with retry and discard for admins. */
export function deadLettersPage(container, session) {
  const admin = session.role === 'admin';
  const notice = h('div', { 'data-testid': 'notice' });
  const body = h('div');
  container.replaceChildren(h('h1', {}, 'Dead letters'), notice, body);

  const say = (text, failed = false) =>
    notice.replaceChildren(h('div', { class: `notice${failed ? ' failed' : ''}` }, text));

  const act = async (action, g) => {
    if (
      action === 'discard' &&
      !confirm(`Discard ${g.count} dead letter(s)? They are kept for the record, never published.`)
    )
      return;
    try {
      const r = await api(`dead-letters/${action}`, {
        method: 'POST',
        body: { ids: g.ids, ...(g.group ? { group: [g.group] } : {}) },
      });
      if (action === 'discard') say(`${count(r.discarded)} discarded`);
      else if (g.group) say(`${count(r.marked)} marked for the consumers of ${g.group} to handle again`);
      else {
        const failed = r.results.filter((x) => !x.ok);
        say(
          `${count(r.published)} published again${failed.length ? `; ${failed.length} failed again: ${failed[0].error.code}: ${failed[0].error.message}` : ''}`,
          failed.length > 0,
        );
      }
    } catch (error) {
      say(error.message, true);
    }
    await draw();
  };

  const draw = async () => {
    try {
      const [{ groups }, { deadLetters }] = await Promise.all([
        api('dead-letters/groups'),
        api('dead-letters?limit=50'),
      ]);
      body.replaceChildren(
        h('h2', {}, 'Pending, grouped by failure'),
        table(
          [
            { title: 'source', cell: (g) => (g.group ? `group ${g.group}` : 'relay') },
            { title: 'type', cell: (g) => g.type ?? '–' },
            {
              title: 'error',
              cell: (g) => [h('div', { class: 'mono' }, g.errorCode), h('div', { class: 'muted' }, g.example)],
            },
            { title: 'count', num: true, cell: (g) => count(g.count) },
            { title: 'last failed', cell: (g) => time(g.newest) },
            ...(admin
              ? [
                  {
                    title: '',
                    cell: (g) => [
                      h(
                        'button',
                        { class: 'primary', 'data-action': 'retry', onclick: () => act('retry', g) },
                        'Retry',
                      ),
                      ' ',
                      h(
                        'button',
                        { class: 'danger', 'data-action': 'discard', onclick: () => act('discard', g) },
                        'Discard',
                      ),
                    ],
                  },
                ]
              : []),
          ],
          groups,
          { empty: 'No dead letters pending.', testid: 'dead-letter-groups' },
        ),
        h('h2', {}, "The relay's, oldest first"),
        table(
          [
            { title: 'id', cell: (d) => h('span', { class: 'mono' }, d.id) },
            { title: 'failed', cell: (d) => time(d.failedAt) },
            { title: 'type', cell: (d) => d.type },
            { title: 'key', cell: (d) => d.partitionKey },
            { title: 'attempts', num: true, cell: (d) => d.attempts },
            { title: 'error', cell: (d) => `${d.error.code}: ${d.error.message}` },
          ],
          deadLetters,
          { empty: 'None pending.', testid: 'dead-letter-list' },
        ),
      );
    } catch (error) {
      body.replaceChildren(h('p', { class: 'error' }, error.message));
    }
  };
  draw();
  return () => {};
}
