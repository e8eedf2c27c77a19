import { HeraldError } from '../errors.ts';
import type { EventDefinition } from '../events/define.ts';
import { loadOptional } from '../optional.ts';

export type JsonSchema = Record<string, unknown>;

/** What the contract of an event type and version is made from: any event definition. */
export type ContractSource = Pick<EventDefinition, 'type' | 'version' | 'schema' | 'jsonSchema' | 'avro'>;

interface StandardJsonSchema {
  input(options: { target: string }): JsonSchema;
}

/**
 * The payload's JSON Schema for one event type and version: the `jsonSchema` given on the
 * definition, else derived from its Standard Schema. Derivation asks, in turn, for Standard JSON
 * Schema (`~standard.jsonSchema`: zod 4.2+, arktype 2.1.28+), an arktype-style `toJsonSchema()`,
 * and valibot through `@valibot/to-json-schema` (an optional peer). The *input* side is taken: it
 * is what a consumer's schema accepts from the wire, and it leaves objects open (zod's output side
 * closes them with `additionalProperties: false`, which would make every added field a break).
 */
export async function deriveJsonSchema(definition: ContractSource): Promise<JsonSchema> {
  if (definition.jsonSchema) return { ...definition.jsonSchema };
  const schema = definition.schema as unknown as {
    '~standard': { vendor: string; jsonSchema?: StandardJsonSchema };
    toJsonSchema?: () => JsonSchema;
  };
  const std = schema['~standard'];
  const attempts: string[] = [];
  try {
    if (typeof std.jsonSchema?.input === 'function') return std.jsonSchema.input({ target: 'draft-2020-12' });
    if (typeof schema.toJsonSchema === 'function') return schema.toJsonSchema();
    if (std.vendor === 'valibot') {
      const lib = await loadOptional(
        () => import('@valibot/to-json-schema') as unknown as Promise<{ toJsonSchema(s: unknown): JsonSchema }>,
        '@valibot/to-json-schema',
        `the JSON Schema of ${definition.type} v${definition.version} (valibot)`,
      );
      return lib.toJsonSchema(definition.schema);
    }
  } catch (error) {
    attempts.push((error as Error).message);
  }
  throw new HeraldError(
    'HERALD_NO_JSON_SCHEMA',
    `${definition.type} v${definition.version}: no JSON Schema can be derived from its ${std.vendor} schema${
      attempts.length ? ` (${attempts.join('; ')})` : ''
    }; give the definition a jsonSchema, or use zod 4.2+, arktype or valibot with @valibot/to-json-schema`,
    { details: { type: definition.type, version: definition.version, vendor: std.vendor } },
  );
}
