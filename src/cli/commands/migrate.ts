import { resolveSettings } from '../../config/settings.ts';
import { HeraldError } from '../../errors.ts';
import { openPool, toDatabaseError } from '../../store/connect.ts';
import { migrate } from '../../store/migrate.ts';
import { type MigrationStatus, migrationStatus } from '../../store/migration-status.ts';
import { setShardCount } from '../../store/sql/shards.ts';
import { type Command, settingOptions, settingsHelp } from '../command.ts';

const migrateKeys = ['databaseUrl', 'schema'] as const;
export const migrateCommand: Command = {
  summary: "Create or upgrade Herald's tables (numbered SQL migrations, safe to run concurrently)",
  options: {
    ...settingOptions(migrateKeys),
    'dry-run': { type: 'boolean' },
    shards: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: true,
  help: () =>
    `herald migrate [--dry-run] [--shards N] [options]
herald migrate status [--json] [options]

Applies pending migrations; --dry-run prints their SQL and changes nothing.
--shards N sets the number of shards (default 64) before the first event is written.
status lists applied migrations (and any whose file changed since it was applied) and pending
ones, changing nothing; it exits 0 when the schema is up to date, 1 otherwise.

${settingsHelp(migrateKeys)}`,
  async run(flags, positionals) {
    const config = resolveSettings(migrateKeys, flags, process.env);
    const [sub, ...extra] = positionals;
    if ((sub !== undefined && sub !== 'status') || extra.length > 0) {
      throw new HeraldError(
        'HERALD_INVALID_CONFIG',
        `herald migrate takes no arguments but "status", got "${positionals.join(' ')}"`,
        {
          details: { setting: 'command' },
        },
      );
    }
    const { pool, target } = openPool(config.databaseUrl, 1);
    try {
      if (sub === 'status') {
        const status = await migrationStatus(pool, { schema: config.schema });
        process.stdout.write(flags.json === true ? `${JSON.stringify(status)}\n` : formatMigrationStatus(status));
        return status.upToDate ? 0 : 1;
      }
      const result = await migrate(pool, {
        schema: config.schema,
        dryRun: flags['dry-run'] === true,
        onApply: (m) => process.stdout.write(`applied ${String(m.id).padStart(4, '0')}_${m.name}\n`),
      });
      if (flags['dry-run'] === true) {
        if (result.pending.length === 0) process.stdout.write(`-- schema "${config.schema}" is up to date\n`);
        result.pending.forEach((m, i) => {
          process.stdout.write(`-- ${String(m.id).padStart(4, '0')}_${m.name}\n${result.sql[i]}\n`);
        });
      } else if (result.applied.length === 0) {
        process.stdout.write(`schema "${config.schema}" is up to date\n`);
      }
      if (typeof flags.shards === 'string' && flags['dry-run'] !== true) {
        const count = await setShardCount(pool, config.schema, Number(flags.shards));
        process.stdout.write(`schema "${config.schema}" has ${count} shards\n`);
      }
      return 0;
    } catch (error) {
      throw toDatabaseError(error, target);
    } finally {
      await pool.end?.();
    }
  },
};

const fileNote = {
  ok: '',
  unknown: '  (applied before checksums were kept)',
  changed: '  FILE CHANGED since applied',
  missing: '  NOT IN THIS VERSION (a newer Herald migrated this schema)',
};

function formatMigrationStatus(status: MigrationStatus): string {
  const id = (n: number) => String(n).padStart(4, '0');
  const lines = [`schema "${status.schema}"`];
  for (const a of status.applied) {
    lines.push(`  applied  ${id(a.id)}_${a.name}  ${a.appliedAt.toISOString()}${fileNote[a.file]}`);
  }
  for (const p of status.pending) lines.push(`  pending  ${id(p.id)}_${p.name}`);
  lines.push(
    status.upToDate
      ? 'up to date'
      : status.pending.length > 0
        ? `${status.pending.length} pending: run herald migrate`
        : 'applied files differ from this version (see above)',
  );
  return `${lines.join('\n')}\n`;
}
