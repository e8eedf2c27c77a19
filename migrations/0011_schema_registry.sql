-- Herald's own schema registry (issue 17): every registered schema of an event type (the
-- subject), one row per version, numbered from 1 in order; and the compatibility mode per
-- subject. `id` is the global id a wire header carries. `fingerprint` is the SHA-256 of the
-- schema's canonical JSON (keys sorted), so registering the same schema again, however it is
-- spaced, finds its version. Compatibility is decided by Herald's checker, not by SQL.
CREATE TABLE {{schema}}.schemas (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subject text NOT NULL,
  version integer NOT NULL CHECK (version > 0),
  format text NOT NULL CHECK (format IN ('JSON', 'AVRO')),
  schema text NOT NULL,
  fingerprint text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (subject, version),
  UNIQUE (subject, format, fingerprint)
);

CREATE TABLE {{schema}}.schema_subjects (
  subject text PRIMARY KEY,
  compatibility text NOT NULL CHECK (
    compatibility IN ('NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE')
  ),
  updated_at timestamptz NOT NULL DEFAULT now()
);
