import { loadOptional } from '../optional.ts';
import type { Incompatibility } from './compat-json.ts';

/** What Herald uses of avsc (an optional peer dependency, loaded when an Avro schema is checked). */
interface AvroType {
  readonly typeName: string;
  readonly name?: string | undefined;
  readonly fields?: ReadonlyArray<AvroField>;
  readonly symbols?: readonly string[];
  readonly itemsType?: AvroType;
  readonly valuesType?: AvroType;
  createResolver(writer: AvroType): unknown;
}
interface AvroField {
  readonly name: string;
  readonly type: AvroType;
  readonly aliases: readonly string[];
  defaultValue(): unknown;
}
interface Avsc {
  Type: { forSchema(schema: unknown): AvroType };
}

export async function loadAvsc(): Promise<Avsc> {
  const mod = await loadOptional(() => import('avsc'), 'avsc', 'Avro schemas');
  return ((mod as { default?: unknown }).default ?? mod) as Avsc;
}

/** Parses an Avro schema; a schema avsc refuses is reported as one issue at the root. */
export function parseAvro(avsc: Avsc, schema: unknown): AvroType | Incompatibility {
  try {
    return avsc.Type.forSchema(schema);
  } catch (error) {
    return { path: '(root)', rule: 'INVALID_SCHEMA', message: `not a valid Avro schema: ${(error as Error).message}` };
  }
}

/**
 * Can data written with `writer` be read with `reader`? avsc's resolver decides (Avro's schema
 * resolution rules: promotions, defaults, aliases, unions, enum defaults). When it refuses, the
 * two schemas are walked side by side to name the field and the rule (Confluent's names).
 */
export function avroReadIssues(reader: AvroType, writer: AvroType): Incompatibility[] {
  const reason = refusal(reader, writer);
  if (reason === undefined) return [];
  const located: Incompatibility[] = [];
  locate(reader, writer, [], located);
  return located.length ? located : [{ path: '(root)', rule: 'TYPE_MISMATCH', message: `(root): ${reason}` }];
}

function refusal(reader: AvroType, writer: AvroType): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const label = (path: string[]) => (path.length ? path.join('.') : '(root)');

function locate(reader: AvroType, writer: AvroType, path: string[], out: Incompatibility[]): void {
  const at = label(path);
  const reason = refusal(reader, writer);
  if (reason === undefined) return;
  if (reader.typeName === 'record' && writer.typeName === 'record') {
    const before = out.length;
    for (const field of reader.fields ?? []) {
      const names = [field.name, ...field.aliases];
      const source = writer.fields?.find((f) => names.includes(f.name));
      const fieldPath = [...path, field.name];
      if (source) locate(field.type, source.type, fieldPath, out);
      else if (field.defaultValue() === undefined) {
        out.push({
          path: label(fieldPath),
          rule: 'READER_FIELD_MISSING_DEFAULT_VALUE',
          message: `${label(fieldPath)}: the reader needs it, the writer does not write it and it has no default`,
        });
      }
    }
    if (out.length > before) return;
  }
  if (reader.typeName === 'array' && writer.typeName === 'array' && reader.itemsType && writer.itemsType) {
    locate(reader.itemsType, writer.itemsType, [...path, '[]'], out);
    return;
  }
  if (reader.typeName === 'map' && writer.typeName === 'map' && reader.valuesType && writer.valuesType) {
    locate(reader.valuesType, writer.valuesType, [...path, '{}'], out);
    return;
  }
  if (reader.typeName === 'enum' && writer.typeName === 'enum') {
    const missing = (writer.symbols ?? []).filter((s) => !reader.symbols?.includes(s));
    out.push({
      path: at,
      rule: 'MISSING_ENUM_SYMBOLS',
      message: `${at}: the writer may send ${missing.join(', ')}, which the reader's enum lacks (and has no default)`,
    });
    return;
  }
  if (reader.typeName === writer.typeName && reader.name !== writer.name) {
    out.push({ path: at, rule: 'NAME_MISMATCH', message: `${at}: ${reason}` });
    return;
  }
  out.push({ path: at, rule: 'TYPE_MISMATCH', message: `${at}: ${reason}` });
}
