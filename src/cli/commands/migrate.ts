import { resolveSettings } from '../../config/settings.ts';
import { openPool, toDatabaseError } from '../../store/connect.ts';
import { migrate } from '../../store/migrate.ts';
import { setShardCount } from '../../store/sql/shards.ts';
import { type Command, settingOptions, settingsHelp } from '../command.ts';

const migrateKeys = ['databaseUrl', 'schema'] as const;
export const migrateCommand: Command = {
  summary: "Create or upgrade Herald's tables (numbered SQL migrations, safe to run concurrently)",
  options: { ...settingOptions(migrateKeys), 'dry-run': { type: 'boolean' }, shards: { type: 'string' } },
  help: () =>
    `herald migrate [--dry-run] [--shards N] [options]\n\nApplies pending migrations; --dry-run prints their SQL and changes nothing.\n--shards N sets the number of shards (default 64) before the first event is written.\n\n${settingsHelp(migrateKeys)}`,
  async run(flags) {
    const config = resolveSettings(migrateKeys, flags, process.env);
    const { pool, target } = openPool(config.databaseUrl, 1);
    try {
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
