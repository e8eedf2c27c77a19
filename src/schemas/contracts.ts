import { HeraldError } from '../errors.ts';
import { type CompatibilityIssue, checkCompatibility, type EarlierSchema } from './compatibility.ts';
import { canonicalSchema, fingerprint } from './fingerprint.ts';
import { type ContractSource, deriveJsonSchema } from './json-schema.ts';
import type { CompatibilityMode, RegisteredSchema, SchemaFormat, SchemaRegistry } from './registry.ts';

/** The schema of one event type and version, as the registry stores it. */
export interface Contract {
  subject: string;
  version: number;
  format: SchemaFormat;
  schema: string;
}

/** An event type's format: Avro when its definition gives an Avro schema, JSON Schema otherwise. */
export async function contractOf(definition: ContractSource): Promise<Contract> {
  const { type, version } = definition;
  if (definition.avro) return { subject: type, version, format: 'AVRO', schema: canonicalSchema(definition.avro) };
  return { subject: type, version, format: 'JSON', schema: canonicalSchema(await deriveJsonSchema(definition)) };
}

export interface SubjectReport {
  subject: string;
  format: SchemaFormat;
  mode: CompatibilityMode;
  /** Each version the code defines: already registered as it is, new, or registered but changed. */
  versions: { version: number; state: 'registered' | 'new' | 'changed'; id?: number }[];
  issues: CompatibilityIssue[];
  compatible: boolean;
}

/**
 * Checks the code's definitions against a registry, type by type: Herald version n is registry
 * version n. A version already registered must be registered as it is (a changed one is a break
 * whatever the mode: bump the version instead); each new version must follow the last one and
 * pass the subject's mode (the registry's, else `defaultMode`) against the versions before it.
 */
export async function checkDefinitions(
  registry: SchemaRegistry,
  definitions: readonly ContractSource[],
  defaultMode: CompatibilityMode,
): Promise<SubjectReport[]> {
  const byType = new Map<string, Contract[]>();
  for (const d of definitions) {
    const c = await contractOf(d);
    const same = byType.get(c.subject) ?? [];
    // A producer's and a consumer's definition of one version may both be given: one schema, one contract.
    const twin = same.find((x) => x.version === c.version);
    if (twin && twin.schema !== c.schema) {
      throw new HeraldError(
        'HERALD_INVALID_DEFINITION',
        `${c.subject} v${c.version} is defined twice with different schemas; one version has one schema`,
        { details: { subject: c.subject, version: c.version } },
      );
    }
    if (!twin) byType.set(c.subject, [...same, c]);
  }
  const reports: SubjectReport[] = [];
  for (const [subject, contracts] of [...byType].sort(([a], [b]) => a.localeCompare(b))) {
    contracts.sort((a, b) => a.version - b.version);
    const registered = await registry.versions(subject);
    const mode = (await registry.getCompatibility(subject)) ?? defaultMode;
    const format = (contracts[0] as Contract).format;
    const report: SubjectReport = { subject, format, mode, versions: [], issues: [], compatible: true };
    const known: EarlierSchema[] = registered.map((r) => ({ version: r.version, schema: r.schema }));
    for (const c of contracts) {
      const existing: RegisteredSchema | undefined = registered[c.version - 1];
      if (c.format !== format || (existing && existing.format !== c.format)) {
        throw new HeraldError(
          'HERALD_INVALID_DEFINITION',
          `${subject} v${c.version}: one event type has one schema format (JSON or Avro)`,
          {
            details: { subject, version: c.version },
          },
        );
      }
      if (existing && fingerprint(existing.schema) === fingerprint(c.schema)) {
        report.versions.push({ version: c.version, state: 'registered', id: existing.id });
        continue;
      }
      if (!existing && c.version !== known.length + 1) {
        throw new HeraldError(
          'HERALD_INVALID_DEFINITION',
          `${subject} v${c.version}: the registry has ${known.length} version(s); define and push v${known.length + 1} first`,
          { details: { subject, version: c.version, registered: known.length } },
        );
      }
      // A changed version is checked against the versions before it, as if it were new.
      const earlier = existing ? known.slice(0, c.version - 1) : known;
      const result = await checkCompatibility(format, mode, c.schema, earlier);
      report.issues.push(...result.issues);
      if (existing) {
        report.issues.push({
          path: '(root)',
          rule: 'REGISTERED_VERSION_CHANGED',
          message: `v${c.version} is registered with another schema; give the change a new version (v${known.length + 1}) instead`,
          against: c.version,
          direction: 'REGISTERED',
        });
        report.versions.push({ version: c.version, state: 'changed', id: existing.id });
      } else {
        report.versions.push({ version: c.version, state: 'new' });
        known.push({ version: c.version, schema: c.schema });
      }
    }
    report.compatible = report.issues.length === 0;
    reports.push(report);
  }
  return reports;
}

/** Registers the new versions of every subject whose check passed; returns the reports with their ids. */
export async function pushDefinitions(
  registry: SchemaRegistry,
  definitions: readonly ContractSource[],
  defaultMode: CompatibilityMode,
): Promise<SubjectReport[]> {
  const reports = await checkDefinitions(registry, definitions, defaultMode);
  if (reports.some((r) => !r.compatible)) return reports;
  const contracts = await Promise.all(definitions.map(contractOf));
  for (const report of reports) {
    if ((await registry.getCompatibility(report.subject)) === undefined) {
      await registry.setCompatibility(report.subject, report.mode);
    }
    for (const v of report.versions) {
      if (v.state !== 'new') continue;
      const c = contracts.find((x) => x.subject === report.subject && x.version === v.version) as Contract;
      const saved = await registry.register(c.subject, c.format, c.schema);
      if (saved.version !== v.version) {
        // Another push registered this subject between the check and now (or v repeats an earlier schema).
        throw new HeraldError(
          'HERALD_INCOMPATIBLE_SCHEMA',
          `${c.subject} v${v.version} was registered as the registry's version ${saved.version}: the subject changed during the push (or this version repeats an earlier one's schema); run herald schema check again`,
          { details: { subject: c.subject, version: v.version, registered: saved.version, id: saved.id } },
        );
      }
      v.id = saved.id;
    }
  }
  return reports;
}
