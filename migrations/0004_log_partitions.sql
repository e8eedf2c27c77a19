-- The log becomes partitioned by day on logged_at (the writing transaction's clock, never the
-- caller's `time`), so retention drops whole partitions: no DELETE sweeps, no bloat. Rows already
-- in the log stay, in the partition log_initial, which ages out like any other.
ALTER TABLE {{schema}}.log RENAME TO log_initial;
-- The partitioned table's key must hold logged_at; attaching builds it on log_initial.
ALTER TABLE {{schema}}.log_initial DROP CONSTRAINT log_pkey;
ALTER INDEX {{schema}}.log_shard_position RENAME TO log_initial_shard_position;
DROP INDEX {{schema}}.log_created_at;
DROP TRIGGER log_notify ON {{schema}}.log_initial;
ALTER TABLE {{schema}}.log_initial ALTER COLUMN seq DROP IDENTITY;
ALTER TABLE {{schema}}.log_initial ADD COLUMN logged_at timestamptz;
UPDATE {{schema}}.log_initial SET logged_at = now();
ALTER TABLE {{schema}}.log_initial ALTER COLUMN logged_at SET NOT NULL;

CREATE TABLE {{schema}}.log (
  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  -- A new sequence: new rows have newer transaction ids, so (xid, seq) order is unchanged.
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
  logged_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (xid, seq, logged_at)
) PARTITION BY RANGE (logged_at);
CREATE INDEX log_shard_position ON {{schema}}.log (shard, xid, seq);
CREATE INDEX log_created_at ON {{schema}}.log (created_at);

DO $$
DECLARE
  -- Days are UTC days; bounds are computed on UTC timestamps, so a session time zone or DST
  -- never shifts them.
  day0 timestamp := date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day';
BEGIN
  EXECUTE format('ALTER TABLE %I.log ATTACH PARTITION %I.log_initial FOR VALUES FROM (MINVALUE) TO (%L)',
    '{{schema_name}}', '{{schema_name}}', day0 AT TIME ZONE 'UTC');
  -- Days ahead are created by the relay's maintenance; a week is made now so that writers never
  -- depend on a relay having run. Rows beyond every partition land in log_default.
  FOR d IN 0..6 LOOP
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.log FOR VALUES FROM (%L) TO (%L)',
      '{{schema_name}}', 'log_p' || to_char(day0 + d * interval '1 day', 'YYYYMMDD'), '{{schema_name}}',
      (day0 + d * interval '1 day') AT TIME ZONE 'UTC', (day0 + (d + 1) * interval '1 day') AT TIME ZONE 'UTC');
  END LOOP;
END $$;
CREATE TABLE {{schema}}.log_default PARTITION OF {{schema}}.log DEFAULT;

CREATE TRIGGER log_notify AFTER INSERT ON {{schema}}.log
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.notify_log();
