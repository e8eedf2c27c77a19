export type { AdminAuthOptions, Role } from './admin/auth.ts';
export { type AdminHandler, type AdminHandlerOptions, adminRoutes, createAdminHandler } from './admin/handler.ts';
export type { Keep } from './config/keep.ts';
export { type Consumer, type ConsumerOptions, createConsumer } from './consume/consumer.ts';
export {
  type BatchContext,
  type BatchHandler,
  type ConsumerStats,
  type Handler,
  type HandlerContext,
  NonRetriableError,
} from './consume/types.ts';
export {
  type ConsumerDeadLetter,
  type ConsumerDeadLetterFilter,
  type ConsumerDeadLetterStatus,
  type ConsumerDeadLetters,
  createConsumerDeadLetters,
} from './deadletters/consumer-dead-letters.ts';
export {
  createDeadLetters,
  type DeadLetterFilter,
  type DeadLetterStatus,
  type DeadLetters,
  type FailedEvent,
  type RetryResult,
} from './deadletters/dead-letters.ts';
export { type ErrorCode, errorCodes, HeraldError, type HeraldErrorOptions, isHeraldError } from './errors.ts';
export {
  defineEvent,
  type EventDefinition,
  type EventDefinitionConfig,
  type EventOptions,
  isOutboxEvent,
  type OutboxEvent,
} from './events/define.ts';
export type { StandardSchemaV1 } from './events/standard-schema.ts';
export { uuidv7 } from './events/uuidv7.ts';
export {
  type HistoryEvent,
  type ReadStreamOptions,
  readStream,
  type StreamPage,
  type StreamSelector,
} from './history/read-stream.ts';
export {
  createHttpHandler,
  type HealthCheck,
  type HttpAnswer,
  type HttpHandler,
  type HttpHandlerOptions,
  type HttpRequest,
  type HttpRoutes,
  type Readiness,
} from './observe/http.ts';
export { createLogger, type Logger, type LogLevel, silentLogger } from './observe/logger.ts';
export {
  type GaugeReading,
  type MetricDefinition,
  type MetricsRecorder,
  metricDefinitions,
  noMetrics,
} from './observe/metrics.ts';
export { type OpenTelemetryMetricsOptions, openTelemetryMetrics } from './observe/opentelemetry.ts';
export {
  type PrometheusMetrics,
  type PrometheusOptions,
  prometheusMetrics,
  type Scrape,
} from './observe/prometheus.ts';
export { type AddedEvent, createOutbox, type Outbox, type OutboxOptions } from './outbox/outbox.ts';
export type { RelayHealth } from './relay/health.ts';
export { createRelay, type Relay, type RelayOptions, type RelayState, type RelayStats } from './relay/relay.ts';
export { type ReplayOptions, type ReplayResult, replayEvents } from './replay/replay.ts';
export { type AvroEvent, type AvroFormatOptions, avroFormat } from './schemas/avro.ts';
export {
  type CompatibilityIssue,
  type CompatibilityReport,
  checkCompatibility,
  formatIssues,
} from './schemas/compatibility.ts';
export { type ConfluentRegistry, type ConfluentRegistryOptions, confluentRegistry } from './schemas/confluent.ts';
export {
  type Contract,
  checkDefinitions,
  contractOf,
  pushDefinitions,
  type SubjectReport,
} from './schemas/contracts.ts';
export { type ContractSource, deriveJsonSchema, type JsonSchema } from './schemas/json-schema.ts';
export { createPostgresRegistry, type PostgresRegistryOptions } from './schemas/postgres-registry.ts';
export {
  type CompatibilityMode,
  compatibilityModes,
  type RegisteredSchema,
  type SchemaFormat,
  type SchemaRegistry,
} from './schemas/registry.ts';
export { getStatus, type HeraldStatus, type StatusOptions } from './status/status.ts';
export { listUnpublished, type UnpublishedEvent, type UnpublishedOptions } from './status/unpublished.ts';
export type { ClientTransaction, TransactionOf } from './store/clients/index.ts';
export type { DatabaseOption, PoolClientLike, PoolLike } from './store/connect.ts';
export type { Queryable, QueryResultLike } from './store/db.ts';
export { type GrantRoles, grantsSql } from './store/grants.ts';
export { type MigrateOptions, type MigrateResult, type Migration, migrate } from './store/migrate.ts';
export { type AppliedMigration, type MigrationStatus, migrationStatus } from './store/migration-status.ts';
export { withTransaction } from './store/transaction.ts';
export { withFormat } from './transports/formatted.ts';
export type {
  Delivery,
  IncomingMessage,
  OutgoingMessage,
  PartitionLag,
  SubscribeOptions,
  Subscription,
  Transport,
} from './transports/transport.ts';
export {
  cloudEventsStructured,
  type DecodedEnvelope,
  type EnvelopeEvent,
  type EnvelopeMapperOptions,
  envelopeMapper,
} from './wire/envelopes.ts';
export { chainFormats, type WireFormat } from './wire/format.ts';
export type { ConsumedEvent } from './wire/incoming.ts';
export { prefixTopics, type TopicStrategy } from './wire/topics.ts';
