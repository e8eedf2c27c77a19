import type { ConsumerDeadLetterFilter } from '../deadletters/consumer-dead-letters.ts';
import type { DeadLetterFilter } from '../deadletters/dead-letters.ts';
import { groupDeadLetters } from '../store/sql/dead-letter-groups.ts';
import { BadInput, type Field, type Input } from './input.ts';
import { type AdminContext, Refusal, route } from './route.ts';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const filterFields = {
  group: {
    kind: 'strings',
    commas: true,
    description: "Consumer groups: their dead letters instead of the relay's",
  },
  type: { kind: 'strings', commas: true, description: 'Event types' },
  key: { kind: 'strings', commas: false, description: 'Partition keys (repeat for several)' },
  error: { kind: 'string', maxLength: 500, description: 'Substring of the error code or message, any case' },
  since: { kind: 'time', description: 'Failed at or after' },
  until: { kind: 'time', description: 'Failed before' },
  status: {
    kind: 'enum',
    values: ['pending', 'retrying', 'retried', 'discarded', 'all'],
    description: 'Default pending; retrying exists for consumer groups only',
  },
  limit: { kind: 'integer', min: 1, max: 10_000, description: 'At most this many (default 100 to list, 10000 to act)' },
} as const satisfies Record<string, Field>;

const actionFields = {
  ...filterFields,
  ids: { kind: 'strings', commas: false, description: 'Dead letter ids (event ids; with group, message ids)' },
} as const satisfies Record<string, Field>;

type FilterInput = Input<typeof actionFields>;

/** The selection a request makes, for the relay's dead letters or (with `group`) consumers'. */
function selection(input: FilterInput): { groups: string[] | undefined; filter: DeadLetterFilter } {
  const groups = input.group;
  if (!groups && input.status === 'retrying') {
    throw new BadInput('status', '"retrying" applies to consumer groups only (add group)');
  }
  if (!groups)
    for (const id of input.ids ?? [])
      if (!uuid.test(id)) throw new BadInput('ids', `${JSON.stringify(id)} is not an event id (a UUID)`);
  const filter: ConsumerDeadLetterFilter = {};
  if (input.ids) filter.ids = input.ids;
  if (input.type) filter.types = input.type;
  if (input.key) filter.keys = input.key;
  if (input.error) filter.error = input.error;
  if (input.since) filter.since = input.since;
  if (input.until) filter.until = input.until;
  if (input.status) filter.status = input.status;
  if (input.limit) filter.limit = input.limit;
  return { groups, filter: filter as DeadLetterFilter };
}

const oneGroup = (group: string[] | undefined) => {
  if (group && group.length !== 1) throw new BadInput('group', 'name one group: an id is unique within a group only');
  return group?.[0];
};

async function act(action: 'retry' | 'discard', input: FilterInput, c: AdminContext) {
  const { groups, filter } = selection(input);
  if (groups) {
    const f = { ...(filter as ConsumerDeadLetterFilter), groups };
    const count = action === 'retry' ? await c.consumerDeadLetters.retry(f) : await c.consumerDeadLetters.discard(f);
    // A consumer group's retry marks them; its running consumers handle them again.
    return { body: action === 'retry' ? { marked: count } : { discarded: count } };
  }
  if (action === 'discard') return { body: { discarded: await c.deadLetters.discard(filter) } };
  if (!c.canPublish) {
    throw new Refusal(
      409,
      'this server has no transport: it cannot publish dead letters again (give it broker settings)',
    );
  }
  const results = await c.deadLetters.retry(filter);
  return {
    body: { published: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length, results },
  };
}

const idParams = { id: 'The event id (relay) or message id (consumer group)' };
const groupQuery = {
  group: {
    kind: 'strings',
    commas: true,
    description: "The consumer group whose dead letter it is; none: the relay's",
  },
} as const satisfies Record<string, Field>;

export const deadLetterRoutes = [
  route({
    method: 'GET',
    path: '/api/dead-letters',
    role: 'read',
    summary: "Dead letters, oldest first: the relay's, or consumer groups' with group",
    query: filterFields,
    returns: '{ deadLetters: [...] } as `herald dlq list --json` prints them',
    run: async ({ query }, c) => {
      const { groups, filter } = selection(query);
      const deadLetters = groups
        ? await c.consumerDeadLetters.list({ ...(filter as ConsumerDeadLetterFilter), groups })
        : await c.deadLetters.list(filter);
      return { body: { deadLetters } };
    },
  }),
  route({
    method: 'GET',
    path: '/api/dead-letters/groups',
    role: 'read',
    summary: 'Pending dead letters grouped by failure: one group per source, type, error code and message shape',
    query: {
      limit: { kind: 'integer', min: 1, max: 1000, description: 'At most this many groups (default 100)' },
    },
    returns: '{ groups: [{ group, type, errorCode, shape, example, count, oldest, newest, ids }] }',
    run: async ({ query }, c) => {
      const rows = await groupDeadLetters(c.pool, c.schema, query.limit ?? 100, 1000);
      return {
        body: {
          groups: rows.map((r) => ({
            group: r.consumer_group,
            type: r.type,
            errorCode: r.error_code,
            shape: r.shape,
            example: r.example,
            count: r.count,
            oldest: r.oldest,
            newest: r.newest,
            ids: r.ids,
          })),
        },
      };
    },
  }),
  route({
    method: 'GET',
    path: '/api/dead-letters/{id}',
    role: 'read',
    summary: 'One dead letter with its payload, headers and error',
    params: idParams,
    query: groupQuery,
    returns: 'the dead letter',
    run: async ({ params, query }, c) => {
      const group = oneGroup(query.group);
      if (!group && !uuid.test(params.id as string)) throw new BadInput('id', 'must be an event id (a UUID)');
      const found = group
        ? await c.consumerDeadLetters.get(group, params.id as string)
        : await c.deadLetters.get(params.id as string);
      if (!found) throw new Refusal(404, `no dead letter ${params.id}${group ? ` in group ${group}` : ''}`);
      return { body: found };
    },
  }),
  route({
    method: 'POST',
    path: '/api/dead-letters/retry',
    role: 'admin',
    summary:
      "Publish the relay's dead letters again (each outcome recorded), or mark a group's for its consumers to handle again; needs ids or a filter",
    body: actionFields,
    returns: '{ published, failed, results } for the relay; { marked } for a group',
    run: ({ body }, c) => act('retry', body, c),
  }),
  route({
    method: 'POST',
    path: '/api/dead-letters/discard',
    role: 'admin',
    summary: 'Mark dead letters discarded (kept for the record, never published); needs ids or a filter',
    body: actionFields,
    returns: '{ discarded }',
    run: ({ body }, c) => act('discard', body, c),
  }),
  route({
    method: 'POST',
    path: '/api/dead-letters/{id}/retry',
    role: 'admin',
    summary: 'Retry one dead letter',
    params: idParams,
    query: groupQuery,
    returns: 'as POST /api/dead-letters/retry',
    run: ({ params, query }, c) => {
      const group = oneGroup(query.group);
      return act('retry', { ids: [params.id as string], ...(group ? { group: [group] } : {}) }, c);
    },
  }),
  route({
    method: 'POST',
    path: '/api/dead-letters/{id}/discard',
    role: 'admin',
    summary: 'Discard one dead letter',
    params: idParams,
    query: groupQuery,
    returns: '{ discarded }',
    run: ({ params, query }, c) => {
      const group = oneGroup(query.group);
      return act('discard', { ids: [params.id as string], ...(group ? { group: [group] } : {}) }, c);
    },
  }),
];
