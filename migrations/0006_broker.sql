-- PostgreSQL as the broker (the `postgres` transport, and with PGlite the embedded default):
-- topics of ordered partitions in one table, and each consumer group's position per partition.

-- Messages as a broker keeps them. Within a partition they are read in (xid, seq) order, below
-- the oldest transaction still open, as the relay reads the log: a publisher's transaction that
-- commits late is never skipped.
CREATE TABLE {{schema}}.broker_messages (
  topic text NOT NULL,
  partition integer NOT NULL,
  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  seq bigint GENERATED ALWAYS AS IDENTITY,
  id text NOT NULL,
  key text,
  value bytea NOT NULL,
  headers jsonb NOT NULL DEFAULT '{}',
  published_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition, xid, seq)
);
CREATE INDEX broker_messages_published_at ON {{schema}}.broker_messages (published_at);

-- A topic's partition count, fixed by whoever first publishes to it or subscribes to it.
CREATE TABLE {{schema}}.broker_topics (
  topic text PRIMARY KEY,
  partitions integer NOT NULL CHECK (partitions BETWEEN 1 AND 1024),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Where each group is in each partition, and which member holds it (a lease, renewed by
-- heartbeats; a member that dies lets it go when the lease runs out).
CREATE TABLE {{schema}}.broker_offsets (
  consumer_group text NOT NULL,
  topic text NOT NULL,
  partition integer NOT NULL,
  xid xid8 NOT NULL DEFAULT '0',
  seq bigint NOT NULL DEFAULT 0,
  owner text,
  lease_until timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, topic, partition)
);

CREATE FUNCTION {{schema}}.notify_broker() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_TABLE_SCHEMA || '_broker', '');
  RETURN NULL;
END $$;
CREATE TRIGGER broker_notify AFTER INSERT ON {{schema}}.broker_messages
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.notify_broker();
