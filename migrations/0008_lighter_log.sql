-- A lighter write path: every business transaction that calls outbox.add pays for what this
-- table and its triggers do, so only what the relay and the tools need stays (measured with
-- `npm run bench -- write --anatomy`, docs/benchmarks.md).

-- The statement trigger's NOTIFY made every writer's commit take PostgreSQL's one global lock
-- for queued notifications: it serialised commits and cost more than the row itself. Relays
-- poll adaptively instead (every millisecond while there is work, backing off when idle).
DROP TRIGGER log_notify ON {{schema}}.log;
DROP FUNCTION {{schema}}.notify_log();

-- Nothing reads by (shard, xid, seq) any more: the relay walks the primary key (with `shard + 0`
-- so the planner never picks this index), and `herald status` counts each shard's backlog in
-- one range scan of the key above the lowest cursor.
DROP INDEX {{schema}}.log_shard_position;

-- created_at is only ever searched by range (replay, status rates), and mostly follows insert
-- order: a BRIN index of a few pages serves that at a fraction of a btree's upkeep per insert.
DROP INDEX {{schema}}.log_created_at;
CREATE INDEX log_created_at ON {{schema}}.log USING brin (created_at);

-- The shard an event's key falls in, as a SQL function PostgreSQL inlines into the INSERT, the
-- shard count written into it, instead of a sub-select on `settings` per row. hashtextextended
-- is the function behind hash partitioning, stable across releases. `herald migrate --shards`
-- rewrites it, only while the log is empty.
DO $$
DECLARE
  n integer := (SELECT shard_count FROM {{schema}}.settings);
BEGIN
  EXECUTE format(
    'CREATE FUNCTION %I.shard_of(key text) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE '
    'RETURN ((hashtextextended(key, 0) %% %s + %s) %% %s)::integer',
    '{{schema_name}}', n, n, n);
END $$;
