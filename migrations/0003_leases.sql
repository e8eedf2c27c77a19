-- Shards leased to relay instances. Leases are timed by the database clock (never a relay's),
-- renewed by heartbeats, and carry an epoch that grows with every change of owner: a relay that
-- was paused past its lease (a zombie) finds a newer epoch and cannot move a cursor. No session
-- advisory locks, so this works behind transaction-mode poolers.
CREATE TABLE {{schema}}.relays (
  id text PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);

CREATE TABLE {{schema}}.leases (
  shard integer PRIMARY KEY,
  owner text,
  epoch bigint NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL DEFAULT '-infinity',
  acquired_at timestamptz
);
