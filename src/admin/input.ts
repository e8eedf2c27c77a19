import { parseTime } from '../config/time.ts';

// The input of every route described once: the same description checks a request (a bad value
// is a 400 naming the field and the rule) and is the route's part of the OpenAPI document.

interface Common {
  description: string;
  required?: boolean;
}
export type Field =
  | (Common & { kind: 'string'; maxLength?: number })
  | (Common & {
      kind: 'strings' /** In a query, split values at commas (not for keys, which may hold one). */;
      commas: boolean;
    })
  | (Common & { kind: 'integer'; min: number; max: number })
  | (Common & { kind: 'time' })
  | (Common & { kind: 'boolean' })
  | (Common & { kind: 'enum'; values: readonly string[] });
export type Fields = Record<string, Field>;

type ValueOf<F extends Field> = F extends { kind: 'strings' }
  ? string[]
  : F extends { kind: 'integer' }
    ? number
    : F extends { kind: 'time' }
      ? Date
      : F extends { kind: 'boolean' }
        ? boolean
        : F extends { kind: 'enum'; values: readonly (infer V)[] }
          ? V
          : string;
/** What a request's fields become once checked: present only when given. */
export type Input<Fs extends Fields> = { [K in keyof Fs]?: ValueOf<Fs[K]> };

/** A request the caller got wrong: answered 400 with the reason. */
export class BadInput extends Error {
  readonly field: string | undefined;
  constructor(field: string | undefined, reason: string) {
    super(field ? `${field}: ${reason}` : reason);
    this.field = field;
  }
}

const shown = (v: unknown) => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
};

function one(name: string, field: Field, raw: unknown, now: Date): unknown {
  const fail = (rule: string) => new BadInput(name, `${shown(raw)} ${rule}`);
  switch (field.kind) {
    case 'string':
      if (typeof raw !== 'string' || raw === '') throw fail('must be a non-empty string');
      if (raw.length > (field.maxLength ?? 2000)) throw fail(`must be at most ${field.maxLength ?? 2000} characters`);
      return raw;
    case 'strings': {
      const list = raw as unknown[];
      if (
        !Array.isArray(raw) ||
        list.length === 0 ||
        list.length > 1000 ||
        list.some((v) => typeof v !== 'string' || v === '')
      ) {
        throw fail('must be a list of 1 to 1000 non-empty strings');
      }
      return list;
    }
    case 'integer': {
      const n = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < field.min || n > field.max) {
        throw fail(`must be an integer from ${field.min} to ${field.max}`);
      }
      return n;
    }
    case 'time':
      if (typeof raw !== 'string') throw fail('must be an ISO 8601 time or a duration before now (30m, 2h, 7d)');
      try {
        return parseTime(raw, name, now);
      } catch (error) {
        throw new BadInput(undefined, (error as Error).message);
      }
    case 'boolean':
      if (raw === true || raw === 'true') return true;
      if (raw === false || raw === 'false') return false;
      throw fail('must be true or false');
    case 'enum':
      if (typeof raw !== 'string' || !field.values.includes(raw))
        throw fail(`must be one of ${field.values.join(', ')}`);
      return raw;
  }
}

function check<Fs extends Fields>(fields: Fs, given: Map<string, unknown>, where: string): Input<Fs> {
  const now = new Date();
  const out: Record<string, unknown> = {};
  for (const name of given.keys()) {
    if (!(name in fields)) {
      const known = Object.keys(fields);
      throw new BadInput(name, `is not a ${where} field here${known.length ? ` (${known.join(', ')})` : ''}`);
    }
  }
  for (const [name, field] of Object.entries(fields)) {
    const raw = given.get(name);
    if (raw === undefined || raw === null) {
      if (field.required) throw new BadInput(name, `is required: ${field.description}`);
      continue;
    }
    out[name] = one(name, field, raw, now);
  }
  return out as Input<Fs>;
}

/** Query parameters: a repeated parameter is a list; a `strings` field also splits at commas. */
export function fromQuery<Fs extends Fields>(fields: Fs, query: URLSearchParams): Input<Fs> {
  const given = new Map<string, unknown>();
  for (const name of new Set(query.keys())) {
    const values = query.getAll(name);
    const field = fields[name];
    if (field?.kind === 'strings') {
      given.set(name, field.commas ? values.flatMap((v) => v.split(',')).map((v) => v.trim()) : values);
    } else {
      if (values.length > 1) throw new BadInput(name, 'is given more than once');
      given.set(name, values[0]);
    }
  }
  return check(fields, given, 'query');
}

/** A JSON object body; an empty body is an empty object. */
export function fromBody<Fs extends Fields>(fields: Fs, text: string): Input<Fs> {
  let body: unknown = {};
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      throw new BadInput(undefined, 'the body is not JSON');
    }
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadInput(undefined, 'the body must be a JSON object');
  }
  return check(fields, new Map(Object.entries(body)), 'body');
}

/** The JSON Schema (OpenAPI 3.1) of one field. */
export function fieldSchema(field: Field, inQuery: boolean): Record<string, unknown> {
  const description = field.description;
  switch (field.kind) {
    case 'string':
      return { type: 'string', minLength: 1, maxLength: field.maxLength ?? 2000, description };
    case 'strings':
      return {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        maxItems: 1000,
        description: inQuery && field.commas ? `${description} (repeat or comma-separate)` : description,
      };
    case 'integer':
      return { type: 'integer', minimum: field.min, maximum: field.max, description };
    case 'time':
      return {
        type: 'string',
        description: `${description}: ISO 8601 (UTC unless an offset is given), now, or a duration before now (30m, 2h, 7d)`,
        examples: ['2025-06-01T12:00:00Z', '2h'],
      };
    case 'boolean':
      return { type: 'boolean', description };
    case 'enum':
      return { type: 'string', enum: [...field.values], description };
  }
}
