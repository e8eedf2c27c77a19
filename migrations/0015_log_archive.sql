-- History past the log's retention window (docs/retention.md, "Keeping history"): when a day
-- partition is dropped, the events of the types the relay is told to keep are first copied here,
-- in the same transaction; each type is then kept its own number of days, or forever. The
-- archive is a plain table, read by aggregate or key and swept per type, never written by
-- writers, so the hot log keeps its DROP-only retention.
CREATE TABLE {{schema}}.log_archive (LIKE {{schema}}.log);
ALTER TABLE {{schema}}.log_archive ADD PRIMARY KEY (xid, seq);
CREATE INDEX log_archive_aggregate ON {{schema}}.log_archive (aggregate_type, aggregate_id);
CREATE INDEX log_archive_key ON {{schema}}.log_archive (partition_key);
CREATE INDEX log_archive_type_logged ON {{schema}}.log_archive (type, logged_at);

-- The whole history: the log and the archive, read by readStream, `herald events` and replay.
-- A column added to the log later is added to the archive and this view by the same migration.
CREATE VIEW {{schema}}.history AS
  SELECT * FROM {{schema}}.log
  UNION ALL
  SELECT * FROM {{schema}}.log_archive;
