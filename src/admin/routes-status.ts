import { route } from './route.ts';

/** Status, backlog, relays and leases, consumer groups: what `herald status` reads. */
export const statusRoutes = [
  route({
    method: 'GET',
    path: '/api/whoami',
    role: 'read',
    summary: "The caller's role: read (sees everything) or admin (also acts)",
    returns: '{ role, schema, canPublish }',
    run: async (_input, c) => ({ body: { role: c.role, schema: c.schema, canPublish: c.canPublish } }),
  }),
  route({
    method: 'GET',
    path: '/api/status',
    role: 'read',
    summary: 'Everything `herald status --json` shows: health, backlog, rates, dead letters, relays, consumers',
    returns: 'the status object of docs/status.md',
    run: async (_input, c) => ({ body: await c.status() }),
  }),
  route({
    method: 'GET',
    path: '/api/status/history',
    role: 'read',
    summary: 'Pending events, oldest age, rates, dead letters and consumer lag over time, as this server read them',
    returns:
      '{ samples: [{ at, pending, oldestAgeSeconds, writtenPerSecond, publishedPerSecond, deadLetters, consumerLag }] }',
    run: async (_input, c) => {
      await c.status();
      return { body: { samples: c.history() } };
    },
  }),
  route({
    method: 'GET',
    path: '/api/backlog',
    role: 'read',
    summary: 'Unpublished events per shard, with each shard’s cursor and the relay holding it',
    returns: 'the backlog object of docs/status.md, every shard listed',
    run: async (_input, c) => {
      const s = await c.status();
      return { body: { at: s.at, ...s.backlog } };
    },
  }),
  route({
    method: 'GET',
    path: '/api/relays',
    role: 'read',
    summary: 'Relay instances with their heartbeat and the shards each leases; shards no relay holds',
    returns: '{ relays, unheldShards, shards: [{ shard, heldBy, events }] }',
    run: async (_input, c) => {
      const s = await c.status();
      return {
        body: {
          at: s.at,
          relays: s.relays,
          unheldShards: s.unheldShards,
          shards: s.backlog.shards.map((sh) => ({ shard: sh.shard, heldBy: sh.heldBy, events: sh.events })),
        },
      };
    },
  }),
  route({
    method: 'GET',
    path: '/api/consumers',
    role: 'read',
    summary: 'Consumer groups: the lag their consumers last stored, per partition, and their dead letters',
    returns: '{ groups: [{ group, lag, measuredAt, partitions, deadLetters }] }',
    run: async (_input, c) => {
      const s = await c.status();
      return { body: { at: s.at, groups: s.consumers } };
    },
  }),
];
