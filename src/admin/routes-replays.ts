import { checkDestination } from '../config/names.ts';
import { type FoundEventRow, findEvents } from '../store/sql/find-events.ts';
import { BadInput } from './input.ts';
import { Refusal, route } from './route.ts';

const toEvent = (r: FoundEventRow) => ({
  id: r.id,
  type: r.type,
  version: r.version,
  source: r.source,
  subject: r.subject,
  partitionKey: r.partition_key,
  aggregate: r.aggregate_type === null ? null : { type: r.aggregate_type, id: r.aggregate_id },
  shard: r.shard,
  destination: r.destination,
  payload: JSON.parse(r.payload) as unknown,
  headers: r.headers,
  correlationId: r.correlation_id,
  causationId: r.causation_id,
  createdAt: r.created_at,
  position: { xid: r.xid, seq: r.seq },
  published: r.published,
});

/** Replay jobs (`herald replay` run by the server) and event lookup in the log. */
export const replayRoutes = [
  route({
    method: 'GET',
    path: '/api/replays',
    role: 'read',
    summary: 'Replays this server started, newest first, with their progress',
    returns: '{ replays: [{ id, state, done, total, filter, result, error }] }',
    run: async (_input, c) => ({ body: { replays: c.replays.list() } }),
  }),
  route({
    method: 'POST',
    path: '/api/replays',
    role: 'admin',
    summary: 'Start a replay: publish the events written in [from, to) again, with the filters of `herald replay`',
    body: {
      from: { kind: 'time', required: true, description: 'Start of the window, inclusive' },
      to: { kind: 'time', description: 'End of the window, exclusive (default now)' },
      types: { kind: 'strings', commas: false, description: 'Only these event types' },
      aggregateTypes: {
        kind: 'strings',
        commas: false,
        description: 'Only events of these aggregate types (every event of one kind of entity)',
      },
      keys: { kind: 'strings', commas: false, description: 'Only these partition keys' },
      destination: {
        kind: 'string',
        maxLength: 249,
        description: 'Publish every event to this topic instead of its own',
      },
      dryRun: { kind: 'boolean', description: 'Count what would be published; publish nothing' },
      pageSize: { kind: 'integer', min: 1, max: 100_000, description: 'Events per read and publish (default 1000)' },
    },
    returns: '202 and the job: { id, state: running, ... }; follow it with GET /api/replays/{id}',
    run: async ({ body }, c) => {
      const from = body.from as Date;
      const to = body.to ?? new Date();
      if (from.getTime() >= to.getTime()) {
        throw new BadInput('from', `${from.toISOString()} must be before to (${to.toISOString()})`);
      }
      if (body.destination !== undefined) {
        try {
          checkDestination(body.destination, 'destination');
        } catch (error) {
          throw new BadInput(undefined, (error as Error).message);
        }
      }
      if (!body.dryRun && !c.canPublish) {
        throw new Refusal(409, 'this server has no transport: it can only dry-run replays (give it broker settings)');
      }
      const job = c.replays.start(
        {
          from,
          to,
          types: body.types ?? [],
          aggregateTypes: body.aggregateTypes ?? [],
          keys: body.keys ?? [],
          destination: body.destination ?? null,
          dryRun: body.dryRun ?? false,
        },
        body.pageSize,
      );
      return { status: 202, body: job };
    },
  }),
  route({
    method: 'GET',
    path: '/api/replays/{id}',
    role: 'read',
    summary: "A replay's state and progress: done of total, then its summary",
    params: { id: 'The job id POST /api/replays answered' },
    returns: 'the job',
    run: async ({ params }, c) => {
      const job = c.replays.get(params.id as string);
      if (!job) throw new Refusal(404, `no replay ${params.id}`);
      return { body: job };
    },
  }),
  route({
    method: 'POST',
    path: '/api/replays/{id}/cancel',
    role: 'admin',
    summary: 'Stop a running replay after its page in flight',
    params: { id: 'The job id' },
    returns: 'the job once stopped (state cancelled, or how it had ended)',
    run: async ({ params }, c) => {
      const job = await c.replays.cancel(params.id as string);
      if (!job) throw new Refusal(404, `no replay ${params.id}`);
      return { body: job };
    },
  }),
  route({
    method: 'GET',
    path: '/api/events',
    role: 'read',
    summary:
      'Events of the log by id, key, type, aggregate or time written, newest first, with whether each is published',
    query: {
      id: { kind: 'strings', commas: true, description: 'Event ids' },
      key: { kind: 'strings', commas: false, description: 'Partition keys (repeat for several)' },
      type: { kind: 'strings', commas: true, description: 'Event types' },
      aggregateType: { kind: 'string', maxLength: 200, description: 'The aggregate type events were written for' },
      aggregateId: { kind: 'string', maxLength: 1000, description: 'The aggregate id (with aggregateType)' },
      from: { kind: 'time', description: 'Written at or after' },
      to: { kind: 'time', description: 'Written before' },
      limit: { kind: 'integer', min: 1, max: 1000, description: 'At most this many (default 50)' },
    },
    returns: '{ events: [...] }',
    run: async ({ query }, c) => {
      if (query.aggregateId && !query.aggregateType) throw new BadInput('aggregateId', 'needs aggregateType');
      if (query.from && query.to && query.from.getTime() >= query.to.getTime()) {
        throw new BadInput('from', 'must be before to');
      }
      const rows = await findEvents(c.pool, c.schema, {
        ...(query.id ? { ids: query.id } : {}),
        ...(query.key ? { keys: query.key } : {}),
        ...(query.type ? { types: query.type } : {}),
        ...(query.aggregateType ? { aggregateType: query.aggregateType } : {}),
        ...(query.aggregateId ? { aggregateId: query.aggregateId } : {}),
        ...(query.from ? { from: query.from } : {}),
        ...(query.to ? { to: query.to } : {}),
        limit: query.limit ?? 50,
      });
      return { body: { events: rows.map(toEvent) } };
    },
  }),
  route({
    method: 'GET',
    path: '/api/events/{id}',
    role: 'read',
    summary: 'One event of the log',
    params: { id: 'The event id' },
    returns: 'the event',
    run: async ({ params }, c) => {
      const [row] = await findEvents(c.pool, c.schema, { ids: [params.id as string], limit: 1 });
      if (!row) throw new Refusal(404, `no event ${params.id} in the log (it may be older than its retention)`);
      return { body: toEvent(row) };
    },
  }),
];
