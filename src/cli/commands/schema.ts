import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { invalidSetting } from '../../config/check.ts';
import { resolveSettings } from '../../config/settings.ts';
import { HeraldError } from '../../errors.ts';
import { formatIssues } from '../../schemas/compatibility.ts';
import { confluentRegistry } from '../../schemas/confluent.ts';
import { checkDefinitions, pushDefinitions, type SubjectReport } from '../../schemas/contracts.ts';
import type { ContractSource } from '../../schemas/json-schema.ts';
import { createPostgresRegistry } from '../../schemas/postgres-registry.ts';
import { type CompatibilityMode, compatibilityModes, type SchemaRegistry } from '../../schemas/registry.ts';
import { type Command, settingOptions, settingsHelp } from '../command.ts';

const schemaKeys = ['databaseUrl', 'schema'] as const;
type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

function openRegistry(flags: Flags): SchemaRegistry {
  const choice = typeof flags.registry === 'string' ? flags.registry : 'herald';
  if (choice === 'herald') {
    const config = resolveSettings(schemaKeys, flags, process.env);
    return createPostgresRegistry({ db: config.databaseUrl, schema: config.schema });
  }
  // A Confluent-compatible registry by its URL (credentials are refused in it, and never shown).
  if (/^https?:\/\//.test(choice)) return confluentRegistry({ url: choice });
  throw invalidSetting('registry', 'must be herald or the http(s) URL of a Confluent-compatible registry');
}

const isDefinition = (value: unknown): value is ContractSource =>
  typeof value === 'function' &&
  typeof (value as { type?: unknown }).type === 'string' &&
  Number.isInteger((value as { version?: unknown }).version) &&
  typeof (value as { parse?: unknown }).parse === 'function';

/** Every event definition a module exports, directly or in an exported array or object. */
async function loadDefinitions(flags: Flags): Promise<ContractSource[]> {
  const paths = typeof flags.definitions === 'string' ? flags.definitions.split(',').filter(Boolean) : [];
  if (paths.length === 0)
    throw invalidSetting('definitions', 'is required: the module(s) exporting your event definitions');
  const found = new Set<ContractSource>();
  for (const path of paths) {
    let mod: Record<string, unknown>;
    try {
      mod = await import(pathToFileURL(resolve(path)).href);
    } catch (error) {
      throw invalidSetting('definitions', `${path} cannot be loaded: ${(error as Error).message}`);
    }
    for (const value of Object.values(mod)) {
      const candidates = Array.isArray(value)
        ? value
        : typeof value === 'object' && value
          ? Object.values(value)
          : [value];
      for (const c of candidates) if (isDefinition(c)) found.add(c);
    }
  }
  if (found.size === 0) throw invalidSetting('definitions', `${paths.join(', ')} export no event definitions`);
  return [...found];
}

function mode(flags: Flags): CompatibilityMode {
  const m = typeof flags.compatibility === 'string' ? flags.compatibility.toUpperCase() : 'BACKWARD';
  if (!(compatibilityModes as readonly string[]).includes(m)) {
    throw invalidSetting('compatibility', `${m} is not one of ${compatibilityModes.join(', ')}`);
  }
  return m as CompatibilityMode;
}

function printReports(reports: SubjectReport[], pushed: boolean): void {
  for (const r of reports) {
    const versions = r.versions.map(
      (v) => `v${v.version} ${pushed && v.state === 'new' ? `registered (id ${v.id})` : v.state}`,
    );
    process.stdout.write(
      `${r.compatible ? 'ok  ' : 'FAIL'} ${r.subject} (${r.format}, ${r.mode}): ${versions.join(', ')}\n`,
    );
    for (const line of formatIssues(r.issues)) process.stdout.write(`       ${line}\n`);
  }
}

async function checkOrPush(flags: Flags, push: boolean): Promise<number> {
  const definitions = await loadDefinitions(flags);
  const registry = openRegistry(flags);
  try {
    const reports = await (push ? pushDefinitions : checkDefinitions)(registry, definitions, mode(flags));
    const ok = reports.every((r) => r.compatible);
    if (flags.json === true)
      process.stdout.write(`${JSON.stringify({ compatible: ok, pushed: push && ok, subjects: reports })}\n`);
    else {
      printReports(reports, push && ok);
      if (!ok)
        process.stdout.write(`${push ? 'nothing registered: ' : ''}a change breaks its type's compatibility mode\n`);
    }
    return ok ? 0 : 1;
  } finally {
    await registry.close?.();
  }
}

async function listOrShow(flags: Flags, subject: string | undefined, version: string | undefined): Promise<number> {
  const registry = openRegistry(flags);
  try {
    const out = process.stdout;
    if (subject === undefined) {
      const rows = [];
      for (const s of await registry.subjects()) {
        const versions = await registry.versions(s);
        rows.push({
          subject: s,
          versions: versions.length,
          latest: versions.at(-1)?.version ?? null,
          format: versions.at(-1)?.format ?? null,
          compatibility: (await registry.getCompatibility(s)) ?? null,
        });
      }
      if (flags.json === true) out.write(`${JSON.stringify(rows)}\n`);
      else
        for (const r of rows)
          out.write(
            `${r.subject}  ${r.format ?? '-'}  v${r.latest ?? '-'} (${r.versions} version${r.versions === 1 ? '' : 's'})  ${r.compatibility ?? 'default'}\n`,
          );
      return 0;
    }
    const versions = await registry.versions(subject);
    const chosen =
      version === undefined || version === 'latest'
        ? versions.at(-1)
        : versions.find((v) => v.version === Number(version));
    if (!chosen) {
      throw new HeraldError('HERALD_UNKNOWN_SCHEMA', `${subject}${version ? ` v${version}` : ''} is not registered`, {
        details: { subject, version },
      });
    }
    const shown = {
      ...chosen,
      schema: JSON.parse(chosen.schema),
      compatibility: (await registry.getCompatibility(subject)) ?? null,
    };
    out.write(
      flags.json === true
        ? `${JSON.stringify(shown)}\n`
        : `${subject} v${chosen.version} (id ${chosen.id}, ${chosen.format})\n${JSON.stringify(shown.schema, null, 2)}\n`,
    );
    return 0;
  } finally {
    await registry.close?.();
  }
}

export const schemaCommand: Command = {
  summary: 'Event schemas in a registry: push what the code defines, check a change in CI, list, show',
  positionals: true,
  options: {
    ...settingOptions(schemaKeys),
    definitions: { type: 'string' },
    registry: { type: 'string' },
    compatibility: { type: 'string' },
    json: { type: 'boolean' },
  },
  help: () =>
    `herald schema push|check --definitions <module.ts>[,<module.ts>] [--compatibility MODE] [--registry herald|URL] [--json]
herald schema list [--registry herald|URL] [--json]
herald schema show <event type> [version|latest] [--registry herald|URL] [--json]

check  compares each event type and version the modules export (every exported defineEvent()
       definition, or arrays/objects of them) with the registry: exit 1 with the report when a
       change breaks the type's compatibility mode, or a registered version was changed.
push   the same check, then registers the new versions (nothing when any type fails).
--compatibility  the mode of a type the registry has none for: ${compatibilityModes.join(', ')} (default BACKWARD)
--registry       herald (default: the herald schema in PostgreSQL) or the URL of a Confluent-compatible
                 registry (Confluent, Apicurio's /apis/ccompat/v7, Redpanda, Karapace)

${settingsHelp(schemaKeys)}`,
  async run(flags, positionals) {
    const [action, subject, version] = positionals;
    if (action === 'check' || action === 'push') return checkOrPush(flags, action === 'push');
    if (action === 'list') return listOrShow(flags, undefined, undefined);
    if (action === 'show' && subject) return listOrShow(flags, subject, version);
    throw invalidSetting('action', `${JSON.stringify(action ?? '')} must be push, check, list or show <type>`);
  },
};
