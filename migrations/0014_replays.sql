-- Replay checkpoints (`herald replay --resume`): each replay that publishes records its slice
-- (filters and the snapshot horizon that fixed it) and, after every page the broker acknowledged,
-- the position reached. A replay stopped by a signal, a crash or an error resumes from there with
-- the same id and the same slice: at most the page in flight is published twice.
CREATE TABLE {{schema}}.replays (
  id uuid PRIMARY KEY,
  slice jsonb NOT NULL,
  horizon xid8 NOT NULL,
  matched bigint NOT NULL,
  published bigint NOT NULL DEFAULT 0,
  position_xid xid8 NOT NULL DEFAULT '0',
  position_seq bigint NOT NULL DEFAULT 0,
  by_type jsonb NOT NULL DEFAULT '{}',
  by_destination jsonb NOT NULL DEFAULT '{}',
  -- running, stopped (a signal), failed (an error), complete
  state text NOT NULL DEFAULT 'running',
  error text,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX replays_updated ON {{schema}}.replays (updated_at);
