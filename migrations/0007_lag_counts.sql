-- Brokers that only count what a group has not handled (RabbitMQ, SQS) have no end position to
-- store: consumer lag keeps the count alone for them.
ALTER TABLE {{schema}}.consumer_lag ALTER COLUMN end_offset DROP NOT NULL;
