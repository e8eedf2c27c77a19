-- Consumers: the inbox that makes a handler's effect happen once, the messages a consumer could
-- not handle, and the lag each consumer group last saw.

-- One row per (consumer group, event) handled, inserted in the handler's own transaction: a
-- second delivery of the event conflicts and is skipped. Partitioned by the event's own time
-- (CloudEvents `time`), never the time it was handled, so one event always lands in the same
-- partition and the key is unique across partitions; retention drops whole days. Daily
-- partitions are made by the consumer; anything outside them lands in inbox_default.
CREATE TABLE {{schema}}.inbox (
  consumer_group text NOT NULL,
  event_id text NOT NULL,
  event_time timestamptz NOT NULL,
  type text NOT NULL,
  handled_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, event_id, event_time)
) PARTITION BY RANGE (event_time);
CREATE TABLE {{schema}}.inbox_default PARTITION OF {{schema}}.inbox DEFAULT;

-- A message a consumer group gave up on: the message as it arrived (headers and body), where it
-- came from, and why. `retrying` asks a running consumer of the group to handle it again.
CREATE TABLE {{schema}}.consumer_dead_letters (
  consumer_group text NOT NULL,
  -- The event id, or topic/partition/offset for a message that has none.
  message_id text NOT NULL,
  event_type text,
  topic text NOT NULL,
  partition text NOT NULL,
  position text NOT NULL,
  partition_key text,
  headers jsonb NOT NULL,
  body bytea NOT NULL,
  error_code text NOT NULL,
  error_message text NOT NULL,
  attempts integer NOT NULL,
  first_failed_at timestamptz NOT NULL DEFAULT now(),
  failed_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'retrying', 'retried', 'discarded')),
  resolved_at timestamptz,
  retry_error text,
  -- While one member of the group re-delivers a dead letter marked for retry, the others leave
  -- it alone until this time (a member that dies mid-way gives it up when the time passes).
  claimed_until timestamptz,
  PRIMARY KEY (consumer_group, message_id)
);
CREATE INDEX consumer_dead_letters_status ON {{schema}}.consumer_dead_letters (status, consumer_group);

-- The lag a consumer group last measured, per partition, for `herald status`.
CREATE TABLE {{schema}}.consumer_lag (
  consumer_group text NOT NULL,
  topic text NOT NULL,
  partition integer NOT NULL,
  committed bigint,
  end_offset bigint NOT NULL,
  lag bigint NOT NULL,
  measured_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, topic, partition)
);
