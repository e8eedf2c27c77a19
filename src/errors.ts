/**
 * Every error Herald raises is a HeraldError with a stable `code`. Codes are part of the public
 * API: `docs/errors.md` lists them, and a test checks that list against this table.
 */
export const errorCodes = {
  HERALD_INVALID_PAYLOAD: 'A payload failed its event schema; nothing was written.',
  HERALD_INVALID_EVENT: 'Something that is not an event made by a defineEvent() definition was given.',
  HERALD_INVALID_DEFINITION: 'defineEvent() was given an invalid type, version, schema or key.',
  HERALD_INVALID_DESTINATION: 'A destination (topic) name is not valid for the transport.',
  HERALD_INVALID_HEADER: 'A user header, correlation id, causation id or traceparent is malformed.',
  HERALD_INVALID_CONFIG: 'A setting (option, flag or environment variable) is missing or invalid.',
  HERALD_INVALID_IDENTIFIER:
    'A schema or role name is not a safe SQL identifier (lower-case letters, digits, _; at most 63).',
  HERALD_NO_TRANSACTION:
    'outbox.add was given no transaction (a client handle outside one, or no transaction around the call).',
  HERALD_NOT_MIGRATED: 'The herald schema is missing or older than this version; run `herald migrate`.',
  HERALD_NO_REPLICATION_SLOT:
    "Table-less mode (createOutbox({ mode: 'wal' })) found no replication slot for the schema: events written now would be read by no relay. Start a relay with source 'cdc' once (it creates the slot), then write.",
  HERALD_MIGRATION_FAILED: 'A migration failed; its transaction was rolled back.',
  HERALD_DATABASE_UNAVAILABLE: 'PostgreSQL could not be reached or dropped the connection.',
  HERALD_BROKER_UNAVAILABLE: 'The broker could not be reached; publishing is retried with backoff.',
  HERALD_AUTHENTICATION_FAILED:
    'The broker, database or schema registry refused the credentials (a SASL or database password, registry auth); retried like an outage until an operator fixes them.',
  HERALD_TLS_FAILED:
    "A TLS connection failed: the server's certificate is not signed by a trusted CA, or does not name the host.",
  HERALD_PERMISSION_DENIED:
    'The database role lacks a privilege a statement needs (SQLSTATE 42501); grant what docs/security.md lists for its part.',
  HERALD_PUBLISH_FAILED: 'The broker refused a batch; it is retried and the cursor does not move.',
  HERALD_MESSAGE_TOO_LARGE: 'A message is larger than the broker accepts.',
  HERALD_MISSING_DEPENDENCY: 'An optional peer dependency (a broker client) is not installed.',
  HERALD_MALFORMED_MESSAGE: 'A consumed message is not a CloudEvent Herald can read (headers missing, body not JSON).',
  HERALD_UNKNOWN_EVENT_TYPE:
    'A consumer received an event type it has no handler for (with onUnknownType: dead-letter).',
  HERALD_NO_UPCAST_PATH: 'A consumed event has a version no upcaster converts to the version the handler asks for.',
  HERALD_INCOMPATIBLE_VERSION:
    "A consumed event is newer than the handler's version and neither validates against its schema nor has a downcaster path.",
  HERALD_NO_JSON_SCHEMA:
    'No JSON Schema can be derived for an event definition: give `jsonSchema`, or use a schema library that emits one.',
  HERALD_INCOMPATIBLE_SCHEMA:
    "A schema change breaks its subject's compatibility mode; the report names each field and rule.",
  HERALD_TRANSACTION_ABORTED:
    "A statement in a handler's transaction failed and the handler caught the error: PostgreSQL aborted the transaction, whose COMMIT would roll back in silence. The event is not handled: it is retried, then dead-lettered.",
  HERALD_HANDLER_FAILED:
    'A handler kept failing after its retries, or threw NonRetriableError; the message was dead-lettered.',
  HERALD_UNKNOWN_SCHEMA: 'The schema registry has no schema with that id (or subject and version).',
  HERALD_REGISTRY_UNAVAILABLE:
    'The schema registry could not be reached or timed out; encoding and decoding are retried, never dead-lettered.',
  HERALD_REGISTRY_FAILED:
    'The schema registry refused a request (a bad schema, an error of its own); refused credentials are HERALD_AUTHENTICATION_FAILED.',
  HERALD_UNDECODABLE_MESSAGE:
    'A consumed message is not in the wire format it claims (wrong magic byte, truncated Avro, an envelope the mapper refuses).',
  HERALD_UNENCODABLE_EVENT:
    'The relay could not encode a stored payload with its wire format (no Avro schema for the version, a payload the schema refuses).',
  HERALD_STOPPED: 'The relay or transport was stopped while the operation was in flight.',
  HERALD_REPLAY_NOT_FOUND: 'No replay with that id to resume, or it completed.',
  HERALD_REPLAY_RUNNING: 'The replay to resume is running in another process.',
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface HeraldErrorOptions {
  cause?: unknown;
  /** Machine-readable details: the failing path, the bad setting, the issues of a schema. */
  details?: Record<string, unknown>;
  /** Whether retrying the same operation may succeed. */
  retriable?: boolean;
}

export class HeraldError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: HeraldErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HeraldError';
    this.code = code;
    this.details = options.details ?? {};
    this.retriable = options.retriable ?? false;
  }
}

export function isHeraldError(error: unknown, code?: ErrorCode): error is HeraldError {
  return error instanceof HeraldError && (code === undefined || error.code === code);
}
