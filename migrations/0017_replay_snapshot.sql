-- A replay's slice is the events of every transaction committed when it began: its snapshot, kept
-- for `herald replay --resume`. The horizon alone (the oldest transaction then open, anywhere in the
-- server) left out events committed above it, all of them while one older transaction stayed open.
-- Replays recorded before this migration have no snapshot and resume with their horizon.
ALTER TABLE {{schema}}.replays ADD COLUMN snapshot pg_snapshot;
