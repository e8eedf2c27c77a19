import type { Type } from 'avsc';
import { checkObject, invalidSetting } from '../config/check.ts';
import { HeraldError } from '../errors.ts';
import { loadOptional } from '../optional.ts';
import type { WireFormat } from '../wire/format.ts';
import type { IncomingMessage, OutgoingMessage } from '../wire/message.ts';
import type { RegisteredSchema, SchemaRegistry } from './registry.ts';

/**
 * Avro binary on the wire, with schemas in a registry (the Confluent wire format on Kafka).
 *
 * On the way out, a message of an event type listed in `events` (and, with `destinations`, going
 * to one of those) has its JSON payload encoded with the Avro schema of its version (the
 * definition's `avro`), registered under the subject named like the type. On Kafka the value is
 * Confluent's framing: magic byte 0, the schema id in 4 bytes big-endian, the Avro binary; any
 * Confluent deserializer reads it. On the other brokers the value is the Avro binary and the id
 * travels in the `herald-schema-id` header. The CloudEvents attributes stay in headers,
 * `content-type` is `application/avro` and `dataschema` names the registered version.
 *
 * On the way in, a message in that format is decoded with the schema its id names (read from the
 * registry once, then cached) back to JSON; anything else passes through. A wrong magic byte, a
 * truncated body or an id the registry does not hold is dead-lettered with the reason; a registry
 * that is away is retried, never dead-lettered.
 */
export interface AvroFormatOptions {
  registry: SchemaRegistry;
  /** The definitions encoded as Avro: every version of a type that travels as Avro, each with its `avro` schema. */
  events: readonly AvroEvent[];
  /** Only messages to these destinations (topics) are encoded; default every destination. */
  destinations?: readonly string[];
  /**
   * Register a version's schema on first use when the registry does not hold it yet; default
   * true. False: an unregistered schema fails the publish (register at deploy with `herald schema push`).
   */
  autoRegister?: boolean;
  /** The `dataschema` URI of a registered schema; default `<registry url>/subjects/<subject>/versions/<version>`. */
  dataschema?: (schema: RegisteredSchema) => string;
}

/** What the codec needs of an event definition (`defineEvent`'s result fits). */
export interface AvroEvent {
  readonly type: string;
  readonly version: number;
  readonly avro: Readonly<Record<string, unknown>> | undefined;
}

export const avroContentType = 'application/avro';
export const schemaIdHeader = 'herald-schema-id';
const magicByte = 0;
const frameBytes = 5;

type Avsc = typeof import('avsc');

let avscLoaded: Promise<Avsc> | undefined;
const loadAvsc = () => {
  avscLoaded ??= loadOptional(
    async () => {
      const mod = (await import('avsc')) as Avsc & { default?: Avsc };
      return mod.default ?? mod;
    },
    'avsc',
    'the Avro codec',
  );
  return avscLoaded;
};

export function avroFormat(options: AvroFormatOptions): WireFormat {
  checkObject(options);
  const { registry } = options;
  if (typeof registry?.byId !== 'function') throw invalidSetting('registry', 'must be a SchemaRegistry');
  if (!Array.isArray(options.events) || options.events.length === 0)
    throw invalidSetting('events', 'must be a non-empty list of event definitions', options.events);
  /** type → version → the definition's Avro schema as JSON text. */
  const schemas = new Map<string, Map<number, string>>();
  for (const def of options.events) {
    if (!def.avro) throw invalidSetting('events', `${def.type} v${def.version} has no avro schema`);
    const versions = schemas.get(def.type) ?? new Map<number, string>();
    versions.set(def.version, JSON.stringify(def.avro));
    schemas.set(def.type, versions);
  }
  const destinations = options.destinations ? new Set(options.destinations) : null;
  const autoRegister = options.autoRegister ?? true;
  const url = (registry as { url?: unknown }).url;
  const dataschema =
    options.dataschema ??
    ((s: RegisteredSchema) =>
      `${typeof url === 'string' ? url : 'schema-registry:'}/subjects/${encodeURIComponent(s.subject)}/versions/${s.version}`);

  const registered = new Map<string, Promise<RegisteredSchema>>();
  const types = new Map<string, Promise<Type>>();

  const typeOf = (key: string, text: string) => {
    let t = types.get(key);
    if (!t) {
      t = loadAvsc().then((avsc) => avsc.Type.forSchema(JSON.parse(text)));
      types.set(key, t);
      t.catch(() => types.delete(key));
    }
    return t;
  };

  const unencodable = (m: OutgoingMessage, reason: string, cause?: unknown) =>
    new HeraldError('HERALD_UNENCODABLE_EVENT', `event ${m.id} (${m.headers.ce_type}): ${reason}`, {
      details: { id: m.id, type: m.headers.ce_type },
      ...(cause === undefined ? {} : { cause }),
    });

  async function schemaFor(m: OutgoingMessage, type: string, version: number, text: string) {
    const key = `${type}\0${version}`;
    let pending = registered.get(key);
    if (!pending) {
      pending = (async () => {
        const found = await registry.lookup(type, 'AVRO', text);
        if (found) return found;
        if (!autoRegister)
          throw unencodable(m, `its Avro schema v${version} is not registered under ${type} (herald schema push)`);
        return registry.register(type, 'AVRO', text);
      })();
      registered.set(key, pending);
      pending.catch(() => registered.delete(key));
    }
    return pending;
  }

  const undecodable = (m: IncomingMessage, reason: string, cause?: unknown) =>
    new HeraldError('HERALD_UNDECODABLE_MESSAGE', `${m.topic}[${m.partition}]@${m.offset}: ${reason}`, {
      details: { topic: m.topic, partition: m.partition, offset: m.offset },
      ...(cause === undefined ? {} : { cause }),
    });

  return {
    name: 'avro',

    async encode(m, transport) {
      const type = m.headers.ce_type;
      const versions = type === undefined ? undefined : schemas.get(type);
      if (!versions || type === undefined) return m;
      if (destinations && !destinations.has(m.topic)) return m;
      const version = Number(m.headers.ce_dataversion ?? '1');
      const text = versions.get(version);
      if (text === undefined)
        throw unencodable(m, `no Avro schema for version ${version} (has ${[...versions.keys()].join(', ')})`);
      let payload: unknown;
      try {
        payload = JSON.parse(m.value.toString('utf8'));
      } catch (error) {
        throw unencodable(m, 'the stored payload is not JSON', error);
      }
      const avroType = await typeOf(`def\0${type}\0${version}`, text);
      const paths: string[] = [];
      if (!avroType.isValid(payload, { errorHook: (path) => paths.push(path.join('.') || '(the record)') }))
        throw unencodable(m, `the payload does not fit its Avro schema v${version} at ${paths.join(', ')}`);
      const schema = await schemaFor(m, type, version, text);
      const body = avroType.toBuffer(payload);
      const headers = { ...m.headers, 'content-type': avroContentType, ce_dataschema: dataschema(schema) };
      if (transport === 'kafka') {
        const frame = Buffer.alloc(frameBytes);
        frame.writeUInt8(magicByte, 0);
        frame.writeUInt32BE(schema.id, 1);
        return { ...m, headers, value: Buffer.concat([frame, body]) };
      }
      return { ...m, headers: { ...headers, [schemaIdHeader]: String(schema.id) }, value: body };
    },

    async decode(m, transport) {
      const contentType = (m.headers['content-type'] ?? '').toLowerCase();
      const idHeader = m.headers[schemaIdHeader];
      let id: number;
      let body: Buffer;
      // JSON never starts with a NUL byte: a value that does is Confluent-framed, unless it says
      // it is JSON (then it is JSON that is broken, and no registry is asked about it).
      const framed = m.value[0] === magicByte && !contentType.includes('json');
      if (transport === 'kafka' && (contentType.startsWith(avroContentType) || framed)) {
        if (m.value.length < frameBytes) throw undecodable(m, `a ${m.value.length}-byte value has no Confluent header`);
        if (m.value[0] !== magicByte) throw undecodable(m, `wrong magic byte ${m.value[0]} (Confluent framing has 0)`);
        id = m.value.readUInt32BE(1);
        body = m.value.subarray(frameBytes);
      } else if (idHeader !== undefined || contentType.startsWith(avroContentType)) {
        id = Number(idHeader);
        if (idHeader === undefined || !/^[0-9]{1,10}$/.test(idHeader) || id > 0xffffffff)
          throw undecodable(m, `${schemaIdHeader} ${JSON.stringify(idHeader ?? null)} is not a schema id`);
        body = m.value;
      } else {
        return m;
      }
      const schema = await registry.byId(id);
      if (schema.format !== 'AVRO') throw undecodable(m, `schema ${id} is ${schema.format}, not Avro`);
      let value: unknown;
      try {
        const avroType = await typeOf(`id\0${id}`, schema.schema);
        value = avroType.fromBuffer(body);
      } catch (error) {
        throw undecodable(m, `the body is not Avro of schema ${id} (${(error as Error).message})`, error);
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.headers)) if (k !== schemaIdHeader) headers[k] = v;
      headers['content-type'] = 'application/json';
      return { ...m, headers, value: Buffer.from(JSON.stringify(value)) };
    },
  };
}
