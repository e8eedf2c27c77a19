import type { JsonSchema } from './json-schema.ts';

/** One reason a reader schema cannot read what a writer schema allows, at a field's path. */
export interface Incompatibility {
  /** The field, dotted from the payload's root: `lines.items.sku`; `(root)` for the payload. */
  path: string;
  /** A stable rule name, after Confluent's where one exists (REQUIRED_PROPERTY_ADDED, TYPE_NARROWED, ...). */
  rule: string;
  message: string;
}

type Types = Set<string>;
const allTypes = ['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'];

/**
 * Herald's JSON Schema rules, as a reader/writer question (Confluent's model): can every payload
 * the writer schema allows be read by the reader schema? BACKWARD asks it with the new schema as
 * reader and the old as writer, FORWARD the other way round.
 *
 * One deliberate difference from Confluent: a property the writer does not declare is taken as
 * absent, not as "anything" (Confluent's open content model makes adding even an optional
 * property to an open object a break, which leaves JSON Schema next to unevolvable; Herald's
 * consumers validate with their own schema, which strips or ignores what it does not declare).
 */
export function jsonReadIssues(reader: JsonSchema, writer: JsonSchema): Incompatibility[] {
  const issues: Incompatibility[] = [];
  const resolveIn = (root: JsonSchema) => (s: unknown) => resolve(root, s);
  compare(resolveIn(reader), resolveIn(writer), resolve(reader, reader), resolve(writer, writer), [], issues, 0);
  return issues;
}

function resolve(root: JsonSchema, schema: unknown): JsonSchema | boolean {
  if (typeof schema === 'boolean') return schema;
  if (typeof schema !== 'object' || schema === null) return true;
  let s = schema as JsonSchema;
  for (let hops = 0; typeof s.$ref === 'string' && hops < 32; hops++) {
    const ref = s.$ref as string;
    if (!ref.startsWith('#')) return true;
    let target: unknown = root;
    for (const part of ref.slice(1).split('/').filter(Boolean)) {
      target = (target as Record<string, unknown> | undefined)?.[
        decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~')
      ];
    }
    if (typeof target !== 'object' || target === null) return true;
    const { $ref: _, ...rest } = s;
    s = { ...(target as JsonSchema), ...rest };
  }
  return s;
}

function typesOf(s: JsonSchema): Types {
  const t = s.type;
  if (typeof t === 'string') return new Set([t]);
  if (Array.isArray(t)) return new Set(t as string[]);
  if (Array.isArray(s.enum)) return new Set((s.enum as unknown[]).map(jsonType));
  if ('const' in s) return new Set([jsonType(s.const)]);
  if (s.properties || s.required) return new Set(['object']);
  if (s.items) return new Set(['array']);
  return new Set(allTypes);
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const label = (path: string[]) => (path.length ? path.join('.') : '(root)');
const branches = (s: JsonSchema): unknown[] | undefined =>
  (Array.isArray(s.anyOf) && s.anyOf) || (Array.isArray(s.oneOf) && s.oneOf) || undefined;

function compare(
  inReader: (s: unknown) => JsonSchema | boolean,
  inWriter: (s: unknown) => JsonSchema | boolean,
  r: JsonSchema | boolean,
  w: JsonSchema | boolean,
  path: string[],
  out: Incompatibility[],
  depth: number,
): void {
  const at = label(path);
  if (r === true || depth > 64) return;
  if (w === false) return;
  if (r === false) {
    out.push({ path: at, rule: 'SCHEMA_REMOVED', message: `${at}: the reader accepts nothing here` });
    return;
  }
  const writer = w === true ? {} : w;
  // A union on the writer side: the reader must read every branch.
  const wb = branches(writer);
  if (wb) {
    for (const b of wb) compare(inReader, inWriter, r, inWriter(b), path, out, depth + 1);
    return;
  }
  const rb = branches(r);
  if (rb) {
    const fits = rb.some((b) => {
      const trial: Incompatibility[] = [];
      compare(inReader, inWriter, inReader(b), writer, path, trial, depth + 1);
      return trial.length === 0;
    });
    if (!fits)
      out.push({
        path: at,
        rule: 'TYPE_NARROWED',
        message: `${at}: no branch of the reader's union reads the writer's value`,
      });
    return;
  }

  const rt = typesOf(r);
  const wt = typesOf(writer);
  const lost = [...wt].filter((t) => !rt.has(t) && !(t === 'integer' && rt.has('number')));
  if (lost.length) {
    const overlaps = [...wt].some((t) => rt.has(t) || (t === 'number' && rt.has('integer')));
    const changed = !overlaps;
    out.push({
      path: at,
      rule: changed ? 'TYPE_CHANGED' : 'TYPE_NARROWED',
      message: `${at}: the writer's ${lost.join('|')} is not a type the reader takes (${[...rt].join('|')})`,
    });
    return;
  }

  checkEnum(r, writer, at, out);
  checkBounds(r, writer, at, out);

  if (rt.has('object') && wt.has('object')) checkObject(inReader, inWriter, r, writer, path, out, depth);
  if (rt.has('array') && wt.has('array') && r.items !== undefined) {
    compare(inReader, inWriter, inReader(r.items), inWriter(writer.items ?? true), [...path, '[]'], out, depth + 1);
  }
}

function checkEnum(r: JsonSchema, w: JsonSchema, at: string, out: Incompatibility[]): void {
  const values = (s: JsonSchema): unknown[] | undefined =>
    Array.isArray(s.enum) ? (s.enum as unknown[]) : 'const' in s ? [s.const] : undefined;
  const re = values(r);
  if (!re) return;
  const we = values(w);
  if (!we) {
    out.push({
      path: at,
      rule: 'ENUM_ADDED',
      message: `${at}: the reader takes only ${JSON.stringify(re)}, the writer any value`,
    });
    return;
  }
  const key = (v: unknown) => JSON.stringify(v);
  const missing = we.filter((v) => !re.some((x) => key(x) === key(v)));
  if (missing.length) {
    out.push({
      path: at,
      rule: 'ENUM_NARROWED',
      message: `${at}: the writer may send ${missing.map(key).join(', ')}, which the reader's enum lacks`,
    });
  }
}

const bounds: [string, 'min' | 'max', string][] = [
  ['minimum', 'min', 'MINIMUM_INCREASED'],
  ['exclusiveMinimum', 'min', 'EXCLUSIVE_MINIMUM_INCREASED'],
  ['maximum', 'max', 'MAXIMUM_DECREASED'],
  ['exclusiveMaximum', 'max', 'EXCLUSIVE_MAXIMUM_DECREASED'],
  ['minLength', 'min', 'MIN_LENGTH_INCREASED'],
  ['maxLength', 'max', 'MAX_LENGTH_DECREASED'],
  ['minItems', 'min', 'MIN_ITEMS_INCREASED'],
  ['maxItems', 'max', 'MAX_ITEMS_DECREASED'],
];

function checkBounds(r: JsonSchema, w: JsonSchema, at: string, out: Incompatibility[]): void {
  for (const [keyword, side, rule] of bounds) {
    const rv = r[keyword];
    if (typeof rv !== 'number') continue;
    const wv = w[keyword];
    const narrower = typeof wv !== 'number' || (side === 'min' ? rv > wv : rv < wv);
    if (narrower) {
      out.push({
        path: at,
        rule,
        message: `${at}: the reader's ${keyword} ${rv} is narrower than the writer's ${wv ?? 'none'}`,
      });
    }
  }
  if (typeof r.pattern === 'string' && r.pattern !== w.pattern) {
    out.push({
      path: at,
      rule: 'PATTERN_CHANGED',
      message: `${at}: the reader's pattern ${r.pattern} is not the writer's ${w.pattern ?? 'none'}`,
    });
  }
  if (typeof r.format === 'string' && r.format !== w.format) {
    out.push({
      path: at,
      rule: 'FORMAT_CHANGED',
      message: `${at}: the reader's format ${r.format} is not the writer's ${w.format ?? 'none'}`,
    });
  }
}

function checkObject(
  inReader: (s: unknown) => JsonSchema | boolean,
  inWriter: (s: unknown) => JsonSchema | boolean,
  r: JsonSchema,
  w: JsonSchema,
  path: string[],
  out: Incompatibility[],
  depth: number,
): void {
  const rp = (r.properties ?? {}) as Record<string, unknown>;
  const wp = (w.properties ?? {}) as Record<string, unknown>;
  const rr = new Set((r.required ?? []) as string[]);
  const wr = new Set((w.required ?? []) as string[]);
  for (const name of rr) {
    if (wr.has(name)) continue;
    const at = label([...path, name]);
    const prop = inReader(rp[name]);
    if (typeof prop === 'object' && 'default' in prop) continue;
    out.push(
      name in wp
        ? {
            path: at,
            rule: 'REQUIRED_ATTRIBUTE_ADDED',
            message: `${at}: the reader requires it, the writer may leave it out`,
          }
        : {
            path: at,
            rule: 'REQUIRED_PROPERTY_ADDED',
            message: `${at}: required by the reader, with no default, and unknown to the writer`,
          },
    );
  }
  for (const [name, schema] of Object.entries(rp)) {
    if (name in wp) compare(inReader, inWriter, inReader(schema), inWriter(wp[name]), [...path, name], out, depth + 1);
  }
  if (r.additionalProperties === false && w.additionalProperties !== false) {
    const at = label(path);
    out.push({
      path: at,
      rule: 'ADDITIONAL_PROPERTIES_REMOVED',
      message: `${at}: the reader is closed to properties the open writer may send`,
    });
  } else if (r.additionalProperties === false) {
    for (const name of Object.keys(wp)) {
      if (name in rp) continue;
      const at = label([...path, name]);
      out.push({
        path: at,
        rule: 'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL',
        message: `${at}: the writer sends it, the closed reader refuses it`,
      });
    }
  }
}
