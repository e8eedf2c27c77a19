import { HeraldError } from '../errors.ts';
import { avroReadIssues, loadAvsc, parseAvro } from './compat-avro.ts';
import { type Incompatibility, jsonReadIssues } from './compat-json.ts';
import type { JsonSchema } from './json-schema.ts';
import type { CompatibilityMode, SchemaFormat } from './registry.ts';

export type { Incompatibility } from './compat-json.ts';

/** One break of the mode: against which earlier version, in which direction, at which field. */
export interface CompatibilityIssue extends Incompatibility {
  /** The registered version the candidate was checked against. */
  against: number;
  /**
   * BACKWARD: the new schema cannot read data of `against`; FORWARD: `against` cannot read the
   * new; REGISTERED: version `against` is registered with another schema (edited in place).
   */
  direction: 'BACKWARD' | 'FORWARD' | 'REGISTERED';
}

export interface CompatibilityReport {
  compatible: boolean;
  mode: CompatibilityMode;
  issues: CompatibilityIssue[];
}

export interface EarlierSchema {
  version: number;
  /** JSON text, or the parsed schema. */
  schema: string | object;
}

/**
 * Rules are named from the reader's side; in a FORWARD check the reader is the old schema, so the
 * change the developer made is the opposite one: a property "added" to the old reader's
 * requirements is one the new schema removed.
 */
const forwardRule: Record<string, string> = {
  REQUIRED_PROPERTY_ADDED: 'REQUIRED_PROPERTY_REMOVED',
  REQUIRED_ATTRIBUTE_ADDED: 'REQUIRED_ATTRIBUTE_REMOVED',
  TYPE_NARROWED: 'TYPE_WIDENED',
  ENUM_NARROWED: 'ENUM_WIDENED',
  ENUM_ADDED: 'ENUM_REMOVED',
  MINIMUM_INCREASED: 'MINIMUM_DECREASED',
  EXCLUSIVE_MINIMUM_INCREASED: 'EXCLUSIVE_MINIMUM_DECREASED',
  MAXIMUM_DECREASED: 'MAXIMUM_INCREASED',
  EXCLUSIVE_MAXIMUM_DECREASED: 'EXCLUSIVE_MAXIMUM_INCREASED',
  MIN_LENGTH_INCREASED: 'MIN_LENGTH_DECREASED',
  MAX_LENGTH_DECREASED: 'MAX_LENGTH_INCREASED',
  MIN_ITEMS_INCREASED: 'MIN_ITEMS_DECREASED',
  MAX_ITEMS_DECREASED: 'MAX_ITEMS_INCREASED',
  ADDITIONAL_PROPERTIES_REMOVED: 'ADDITIONAL_PROPERTIES_ADDED',
  PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL: 'PROPERTY_ADDED_TO_CLOSED_CONTENT_MODEL',
};

const tag =
  (against: number, direction: 'BACKWARD' | 'FORWARD') =>
  (i: Incompatibility): CompatibilityIssue => ({
    ...i,
    rule: direction === 'FORWARD' ? (forwardRule[i.rule] ?? i.rule) : i.rule,
    against,
    direction,
  });

/** What each mode asks of a new schema against the subject's earlier ones (oldest first). */
function plan(mode: CompatibilityMode, count: number): { backward: boolean; forward: boolean; from: number } {
  const transitive = mode.endsWith('_TRANSITIVE');
  const base = mode.replace('_TRANSITIVE', '');
  return {
    backward: base === 'BACKWARD' || base === 'FULL',
    forward: base === 'FORWARD' || base === 'FULL',
    from: transitive ? 0 : Math.max(0, count - 1),
  };
}

const parsed = (schema: string | object, what: string): unknown => {
  if (typeof schema !== 'string') return schema;
  try {
    return JSON.parse(schema);
  } catch (error) {
    throw new HeraldError('HERALD_INVALID_CONFIG', `${what} is not JSON: ${(error as Error).message}`, {
      details: { setting: 'schema' },
    });
  }
};

/**
 * Checks a candidate schema against a subject's earlier versions under a mode: BACKWARD (the new
 * schema reads the previous version's data), FORWARD (the previous version's schema reads the new
 * data), FULL (both); the _TRANSITIVE forms check every earlier version, not only the last.
 * JSON Schema goes through Herald's rules (compat-json.ts), Avro through avsc's resolver.
 */
export async function checkCompatibility(
  format: SchemaFormat,
  mode: CompatibilityMode,
  candidate: string | object,
  earlier: readonly EarlierSchema[],
): Promise<CompatibilityReport> {
  const { backward, forward, from } = plan(mode, earlier.length);
  const against = mode === 'NONE' ? [] : earlier.slice(from);
  const issues: CompatibilityIssue[] = [];
  const next = parsed(candidate, 'the new schema');
  if (format === 'AVRO') {
    const avsc = await loadAvsc();
    const nextType = parseAvro(avsc, next);
    if (!('typeName' in nextType))
      return { compatible: false, mode, issues: [{ ...nextType, against: 0, direction: 'BACKWARD' }] };
    for (const e of against) {
      const prev = parseAvro(avsc, parsed(e.schema, `version ${e.version}`));
      if (!('typeName' in prev)) continue;
      if (backward) issues.push(...avroReadIssues(nextType, prev).map(tag(e.version, 'BACKWARD')));
      if (forward) issues.push(...avroReadIssues(prev, nextType).map(tag(e.version, 'FORWARD')));
    }
  } else {
    for (const e of against) {
      const prev = parsed(e.schema, `version ${e.version}`) as JsonSchema;
      if (backward) issues.push(...jsonReadIssues(next as JsonSchema, prev).map(tag(e.version, 'BACKWARD')));
      if (forward) issues.push(...jsonReadIssues(prev, next as JsonSchema).map(tag(e.version, 'FORWARD')));
    }
  }
  return { compatible: issues.length === 0, mode, issues };
}

const directionText = {
  BACKWARD: (v: number) => `the new schema cannot read v${v}'s events`,
  FORWARD: (v: number) => `v${v}'s consumers cannot read the new schema's events`,
  REGISTERED: (v: number) => `v${v} is already registered`,
};

/** One line per issue: `amount: TYPE_CHANGED (the new schema cannot read v1's events): ...`. */
export function formatIssues(issues: readonly CompatibilityIssue[]): string[] {
  return issues.map((i) => {
    // Messages start with the path for callers that show them alone; the line names it once.
    const message = i.message.startsWith(`${i.path}: `) ? i.message.slice(i.path.length + 2) : i.message;
    return `${i.path}: ${i.rule} (${directionText[i.direction](i.against)}): ${message}`;
  });
}
