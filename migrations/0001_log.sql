-- Herald's log: one append-only row per event, read in (xid, seq) order below the snapshot's xmin.
-- The schema placeholder is replaced by the validated, quoted schema name; nothing else is.

CREATE TABLE {{schema}}.settings (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  shard_count integer NOT NULL DEFAULT 64 CHECK (shard_count BETWEEN 1 AND 4096)
);
INSERT INTO {{schema}}.settings DEFAULT VALUES;

CREATE TABLE {{schema}}.log (
  -- Writer's transaction id: readers take only xid < pg_snapshot_xmin(pg_current_snapshot()),
  -- so a transaction still open can never be skipped.
  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  -- Order inside one transaction.
  seq bigint GENERATED ALWAYS AS IDENTITY,
  id uuid NOT NULL,
  type text NOT NULL,
  version integer NOT NULL,
  source text NOT NULL,
  subject text,
  aggregate_type text,
  aggregate_id text,
  partition_key text NOT NULL,
  shard integer NOT NULL,
  destination text,
  payload jsonb NOT NULL,
  headers jsonb NOT NULL DEFAULT '{}',
  correlation_id text,
  causation_id text,
  traceparent text,
  tracestate text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (xid, seq)
);
CREATE INDEX log_shard_position ON {{schema}}.log (shard, xid, seq);
CREATE INDEX log_created_at ON {{schema}}.log USING brin (created_at);

-- How far publishing has come, per shard.
CREATE TABLE {{schema}}.cursors (
  shard integer PRIMARY KEY,
  xid xid8 NOT NULL DEFAULT '0',
  seq bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Wake-up hint for relays: one NOTIFY per inserting statement (PostgreSQL folds duplicates
-- within a transaction). Polling remains the backstop.
CREATE FUNCTION {{schema}}.notify_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_TABLE_SCHEMA || '_log', '');
  RETURN NULL;
END $$;
CREATE TRIGGER log_notify AFTER INSERT ON {{schema}}.log
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.notify_log();
