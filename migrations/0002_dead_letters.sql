-- Events the relay gave up on: a copy of the log row (the log itself is dropped after its
-- retention window) with why, how often and when it failed, and what became of it.
CREATE TABLE {{schema}}.dead_letters (
  id uuid PRIMARY KEY,
  xid xid8 NOT NULL,
  seq bigint NOT NULL,
  type text NOT NULL,
  version integer NOT NULL,
  source text NOT NULL,
  subject text,
  partition_key text NOT NULL,
  shard integer NOT NULL,
  destination text NOT NULL,
  payload jsonb NOT NULL,
  headers jsonb NOT NULL DEFAULT '{}',
  correlation_id text,
  causation_id text,
  traceparent text,
  tracestate text,
  created_at timestamptz NOT NULL,
  error_code text NOT NULL,
  error_message text NOT NULL,
  attempts integer NOT NULL,
  first_failed_at timestamptz NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now(),
  -- pending: waiting for an operator; retried: published again; discarded: dropped on purpose.
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'retried', 'discarded')),
  resolved_at timestamptz,
  retry_error text
);
CREATE INDEX dead_letters_pending ON {{schema}}.dead_letters (failed_at) WHERE status = 'pending';
CREATE INDEX dead_letters_type ON {{schema}}.dead_letters (type, failed_at);
