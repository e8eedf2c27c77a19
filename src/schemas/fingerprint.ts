import { createHash } from 'node:crypto';
import { HeraldError } from '../errors.ts';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** A schema's text made canonical (keys sorted, no spacing): one schema, one text. */
export function canonicalSchema(schema: string | object): string {
  let value: unknown = schema;
  if (typeof schema === 'string') {
    try {
      value = JSON.parse(schema);
    } catch (error) {
      throw new HeraldError('HERALD_INVALID_CONFIG', `a schema is not JSON: ${(error as Error).message}`, {
        details: { setting: 'schema' },
      });
    }
  }
  return JSON.stringify(canonical(value));
}

/** SHA-256 of the canonical text, hex. */
export function fingerprint(schema: string | object): string {
  return createHash('sha256').update(canonicalSchema(schema)).digest('hex');
}
