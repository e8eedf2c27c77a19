-- Who and what an event is about beyond its aggregate (seeds 001-003): the user and the session
-- that caused it, and free tags. Carried as the CloudEvents extensions userid, sessionid and tags;
-- kept in dead letters too, so a retried event keeps them. Nullable columns without a default:
-- adding them rewrites nothing, and writers that do not set them pay for nothing.
ALTER TABLE {{schema}}.log ADD COLUMN user_id text, ADD COLUMN session_id text, ADD COLUMN tags text[];
ALTER TABLE {{schema}}.dead_letters ADD COLUMN user_id text, ADD COLUMN session_id text, ADD COLUMN tags text[];
