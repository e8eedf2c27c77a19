import type { ParseArgsOptionsConfig } from 'node:util';
import { createLogger } from '../observe/logger.ts';
import { createRelay } from '../relay/relay.ts';
import { openPool, toDatabaseError } from '../store/connect.ts';
import { migrate } from '../store/migrate.ts';
import { kafka } from '../transports/kafka/index.ts';
import { resolveSettings, settings } from './settings.ts';

export interface Command {
  summary: string;
  options: ParseArgsOptionsConfig;
  help(): string;
  run(flags: Record<string, string | boolean | undefined>): Promise<number>;
}

type SettingKey = keyof typeof settings;

function settingOptions(keys: readonly SettingKey[]): ParseArgsOptionsConfig {
  return Object.fromEntries(keys.map((k) => [settings[k].flag, { type: 'string' as const }]));
}

export function settingsHelp(keys: readonly SettingKey[]): string {
  return keys
    .map((k) => {
      const s = settings[k] as {
        flag: string;
        env: string;
        description: string;
        required?: boolean;
        default?: unknown;
      };
      const extra = s.required ? ' (required)' : s.default !== undefined ? ` (default ${String(s.default)})` : '';
      return `  --${s.flag.padEnd(18)} ${s.env.padEnd(24)} ${s.description}${extra}`;
    })
    .join('\n');
}

const migrateKeys = ['databaseUrl', 'schema'] as const;
const relayKeys = [
  'databaseUrl',
  'schema',
  'brokers',
  'topicPrefix',
  'batchSize',
  'pollIntervalMs',
  'clientId',
  'logLevel',
] as const;

const migrateCommand: Command = {
  summary: "Create or upgrade Herald's tables (numbered SQL migrations, safe to run concurrently)",
  options: { ...settingOptions(migrateKeys), 'dry-run': { type: 'boolean' } },
  help: () =>
    `herald migrate [--dry-run] [options]\n\nApplies pending migrations; --dry-run prints their SQL and changes nothing.\n\n${settingsHelp(migrateKeys)}`,
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
      return 0;
    } catch (error) {
      throw toDatabaseError(error, target);
    } finally {
      await pool.end?.();
    }
  },
};

const relayCommand: Command = {
  summary: 'Publish committed events from the log to Kafka until stopped (SIGTERM/SIGINT)',
  options: settingOptions(relayKeys),
  help: () =>
    `herald relay [options]\n\nRuns until SIGTERM or SIGINT, then finishes the batch in flight and exits.\n\n${settingsHelp(relayKeys)}`,
  async run(flags) {
    const config = resolveSettings(relayKeys, flags, process.env);
    const logger = createLogger({ level: config.logLevel });
    const relay = createRelay({
      db: config.databaseUrl,
      schema: config.schema,
      transport: kafka({ brokers: config.brokers, clientId: config.clientId }),
      batchSize: config.batchSize,
      pollIntervalMs: config.pollIntervalMs,
      logger,
      ...(config.topicPrefix ? { topicPrefix: config.topicPrefix } : {}),
    });
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping');
      void relay.stop();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    await relay.start();
    await relay.done;
    return 0;
  },
};

export const commands: Record<string, Command> = {
  migrate: migrateCommand,
  relay: relayCommand,
};
