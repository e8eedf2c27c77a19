-- Consumer lag as brokers report it. Brokers that only count what a group has not handled
-- (RabbitMQ, SQS) have no positions to store; PostgreSQL as the broker has positions that are not
-- integers (`xid:seq`). Positions are kept as the broker's text, and may be absent.
ALTER TABLE {{schema}}.consumer_lag ALTER COLUMN end_offset DROP NOT NULL;
ALTER TABLE {{schema}}.consumer_lag ALTER COLUMN committed TYPE text USING committed::text;
ALTER TABLE {{schema}}.consumer_lag ALTER COLUMN end_offset TYPE text USING end_offset::text;
