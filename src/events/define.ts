import { checkDestination, namePatterns } from '../config/names.ts';
import { HeraldError } from '../errors.ts';
import {
  formatIssuePath,
  type InferInput,
  type InferOutput,
  isStandardSchema,
  type StandardResult,
  type StandardSchemaV1,
} from './standard-schema.ts';
import { uuidv7 } from './uuidv7.ts';
import { checkEventOptions } from './validate.ts';

/** Options given when an event is made: identity, tracing and routing, never the payload. */
export interface EventOptions {
  /** Defaults to a new UUIDv7. */
  id?: string;
  /** Overrides the definition's `key(payload)`: events with one key are published in order. */
  key?: string;
  /** CloudEvents `subject`; defaults to `<aggregate type>/<aggregate id>` when an aggregate is known. */
  subject?: string;
  aggregate?: { type: string; id: string };
  /** Defaults to the event's own id: the first event of a chain starts the correlation. */
  correlationId?: string;
  /** The id of the event or command that caused this one. */
  causationId?: string;
  /** The user on whose behalf the event happened (CloudEvents extension `userid`); kept by emit(). */
  userId?: string;
  /** The user's session (extension `sessionid`); kept by emit(). */
  sessionId?: string;
  /** Free labels (extension `tags`, comma-separated on the wire, so a tag has no comma). */
  tags?: readonly string[];
  /** W3C trace context of the span that wrote the event. */
  traceparent?: string;
  tracestate?: string;
  /** Extra headers, published as they are beside the CloudEvents attributes. */
  headers?: Record<string, string>;
  /** Overrides the definition's destination for this one event. */
  destination?: string;
  time?: Date;
}

export interface EventDefinitionConfig<S extends StandardSchemaV1> {
  /** Reverse-DNS style name, e.g. `inventory.stock.reserved`. */
  type: string;
  /** Schema version of the payload, a positive integer. */
  version: number;
  schema: S;
  /** The partition key of an event: same key, same order. */
  key: (payload: InferOutput<S>) => string;
  /** Topic (or exchange, subject, queue) for this event; the relay's topic strategy otherwise. */
  destination?: string;
  aggregate?: (payload: InferOutput<S>) => { type: string; id: string };
  /**
   * Converters from older versions, for consumers: `upcasters[n]` turns a version-n payload into
   * a version-(n+1) one. A consumer that handles version 3 receives a version-1 event after
   * `upcasters[1]` then `upcasters[2]`, validated against this schema.
   */
  // biome-ignore lint/suspicious/noExplicitAny: an old version's payload has no type here.
  upcasters?: Readonly<Record<number, (payload: any) => unknown>>;
  /**
   * Converters from newer versions, for consumers deployed before a producer: `downcasters[n]`
   * turns a version-n payload into a version-(n-1) one (n above this version).
   */
  // biome-ignore lint/suspicious/noExplicitAny: a newer version's payload has no type here.
  downcasters?: Readonly<Record<number, (payload: any) => unknown>>;
  /**
   * Which versions a consumer of this definition takes. `'own-and-older'` (the default): this
   * version, and older ones through `upcasters`. `'newer-compatible'`: also a newer version whose
   * payload (after any `downcasters`) validates against this schema, unknown fields left to the
   * schema (zod strips them); a newer one that does not is dead-lettered as
   * HERALD_INCOMPATIBLE_VERSION. Declare it when the type's registry mode is FORWARD or FULL, which
   * `herald schema check` enforces (docs/schemas.md).
   */
  accepts?: 'own-and-older' | 'newer-compatible';
  /** The payload's JSON Schema, when given directly instead of derived from `schema`. */
  jsonSchema?: Readonly<Record<string, unknown>>;
  /** The payload's Avro schema (a record, as JSON), for the Avro codec and the registry. */
  avro?: Readonly<Record<string, unknown>>;
}

export const eventBrand: unique symbol = Symbol.for('herald.event');

/** What `outbox.add` needs of an event's definition, whatever its payload type. */
export interface EventRuntime {
  readonly type: string;
  readonly version: number;
  readonly schema: StandardSchemaV1;
  parse(payload: unknown): Promise<unknown>;
  readonly key: (payload: never) => string;
  readonly aggregate: ((payload: never) => { type: string; id: string }) | undefined;
  readonly destination: string | undefined;
}

/** An event as the application made it, before validation. `outbox.add` validates it. */
export interface OutboxEvent<S extends StandardSchemaV1 = StandardSchemaV1> {
  readonly [eventBrand]: EventRuntime;
  readonly id: string;
  readonly type: string;
  readonly version: number;
  readonly payload: InferInput<S>;
  readonly options: Readonly<EventOptions>;
}

export interface EventDefinition<S extends StandardSchemaV1 = StandardSchemaV1> {
  (payload: InferInput<S>, options?: EventOptions): OutboxEvent<S>;
  readonly type: string;
  readonly version: number;
  readonly schema: S;
  readonly destination: string | undefined;
  readonly key: (payload: InferOutput<S>) => string;
  readonly aggregate: ((payload: InferOutput<S>) => { type: string; id: string }) | undefined;
  readonly upcasters: Readonly<Record<number, (payload: unknown) => unknown>>;
  readonly downcasters: Readonly<Record<number, (payload: unknown) => unknown>>;
  readonly accepts: 'own-and-older' | 'newer-compatible';
  readonly jsonSchema: Readonly<Record<string, unknown>> | undefined;
  readonly avro: Readonly<Record<string, unknown>> | undefined;
  /** Validates a payload against the schema; throws HERALD_INVALID_PAYLOAD with every issue. */
  parse(payload: unknown): Promise<InferOutput<S>>;
}

export function defineEvent<S extends StandardSchemaV1>(config: EventDefinitionConfig<S>): EventDefinition<S> {
  const { type, version, schema, key, destination, aggregate, jsonSchema, avro } = config;
  const upcasters = Object.freeze({ ...(config.upcasters ?? {}) });
  const downcasters = Object.freeze({ ...(config.downcasters ?? {}) });
  const accepts = config.accepts ?? 'own-and-older';
  const invalid = (message: string) =>
    new HeraldError('HERALD_INVALID_DEFINITION', `defineEvent(${JSON.stringify(type)}): ${message}`);
  if (typeof type !== 'string' || !namePatterns.eventType.test(type)) {
    throw invalid('type must be 1-200 characters of letters, digits, ".", "_" or "-"');
  }
  if (!Number.isInteger(version) || version < 1) throw invalid('version must be a positive integer');
  if (!isStandardSchema(schema)) {
    throw invalid('schema must implement Standard Schema v1 (zod, valibot, arktype, ...)');
  }
  if (typeof key !== 'function') throw invalid('key must be a function of the payload');
  if (destination !== undefined) checkDestination(destination, `defineEvent(${type}).destination`);
  for (const [from, fn] of Object.entries(upcasters)) {
    const n = Number(from);
    if (!Number.isInteger(n) || n < 1 || n >= version || typeof fn !== 'function') {
      throw invalid(`upcasters[${from}] must be a function and ${from} a version from 1 to ${version - 1}`);
    }
  }
  for (const [from, fn] of Object.entries(downcasters)) {
    const n = Number(from);
    if (!Number.isInteger(n) || n <= version || typeof fn !== 'function') {
      throw invalid(`downcasters[${from}] must be a function and ${from} a version above ${version}`);
    }
  }
  if (accepts !== 'own-and-older' && accepts !== 'newer-compatible') {
    throw invalid(`accepts must be 'own-and-older' or 'newer-compatible', not ${JSON.stringify(accepts)}`);
  }

  const parse = async (payload: unknown): Promise<InferOutput<S>> =>
    validated(type, version, await schema['~standard'].validate(payload)) as InferOutput<S>;

  const make = (payload: InferInput<S>, options: EventOptions = {}): OutboxEvent<S> => {
    checkEventOptions(type, options);
    return Object.freeze({
      [eventBrand]: definition,
      id: options.id ?? uuidv7(),
      type,
      version,
      payload,
      options: Object.freeze({ ...options }),
    });
  };
  const definition = Object.assign(make, {
    type,
    version,
    schema,
    destination,
    key,
    aggregate,
    upcasters,
    downcasters,
    accepts,
    jsonSchema,
    avro,
    parse,
  });
  Object.defineProperty(definition, 'name', { value: type });
  return Object.freeze(definition) as EventDefinition<S>;
}

/** A schema's result as the payload, or HERALD_INVALID_PAYLOAD with every issue. */
function validated(type: string, version: number, result: StandardResult<unknown>): unknown {
  if (result.issues) {
    const issues = result.issues.map((i) => ({ path: formatIssuePath(i), message: i.message }));
    const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new HeraldError('HERALD_INVALID_PAYLOAD', `${type} v${version}: ${summary}`, {
      details: { type, version, issues },
    });
  }
  return result.value;
}

/**
 * `definition.parse` without a promise when the schema validates synchronously (zod, valibot,
 * arktype do): for a consumer's every delivery and `outbox.add`, where each promise and hop
 * counts. Throws, or rejects for an asynchronous schema, as `parse` does.
 */
export function parseNow(definition: Pick<EventDefinition, 'type' | 'version' | 'schema'>, payload: unknown): unknown {
  const result = definition.schema['~standard'].validate(payload);
  if (result instanceof Promise) return result.then((r) => validated(definition.type, definition.version, r));
  return validated(definition.type, definition.version, result);
}

export function isOutboxEvent(value: unknown): value is OutboxEvent {
  return typeof value === 'object' && value !== null && eventBrand in value;
}
