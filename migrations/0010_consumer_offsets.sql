-- Where a consumer group stands in each partition it reads, kept by the group's own handler
-- transactions (`offsets: 'database'`): next_offset is the first offset not yet handled. Written
-- in the same transaction as the handler's effects, so an event is applied once without an inbox
-- row: a message below next_offset is a second delivery and is skipped.
CREATE TABLE {{schema}}.consumer_offsets (
  consumer_group text NOT NULL,
  topic text NOT NULL,
  partition integer NOT NULL,
  next_offset bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, topic, partition)
);
