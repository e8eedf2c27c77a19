-- Projection rebuilds (`from: 'history'`, docs/consumers.md): a new consumer group first reads
-- its event types from the log and the archive, up to the snapshot horizon taken when it began,
-- then the broker. This row is where it is: resumed after a stop, skipped once complete.
CREATE TABLE {{schema}}.rebuilds (
  group_name text PRIMARY KEY,
  horizon xid8 NOT NULL,
  position_xid xid8 NOT NULL DEFAULT '0',
  position_seq bigint NOT NULL DEFAULT 0,
  events bigint NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
