import { resolveSettings } from '../../config/settings.ts';
import { createLogger } from '../../observe/logger.ts';
import { createRelay } from '../../relay/relay.ts';
import { type Command, settingOptions, settingsHelp } from '../command.ts';
import { transportFrom, transportKeys } from '../transport.ts';

const relayKeys = [
  ...transportKeys,
  'topicPrefix',
  'batchSize',
  'pollIntervalMs',
  'cursorIntervalMs',
  'maxAttempts',
  'onFailure',
  'leaseMs',
  'retentionDays',
  'logLevel',
] as const;

export const relayCommand: Command = {
  summary: 'Publish committed events from the log to the broker (Kafka by default) until stopped (SIGTERM/SIGINT)',
  options: { ...settingOptions(relayKeys), once: { type: 'boolean' } },
  help: () =>
    `herald relay [--once] [options]\n\nRuns until SIGTERM or SIGINT, then finishes the batch in flight and exits.\n--once publishes what is committed now, then exits (for cron-style runs).\n\n${settingsHelp(relayKeys)}`,
  async run(flags) {
    const config = resolveSettings(relayKeys, flags, process.env);
    const logger = createLogger({ level: config.logLevel });
    const relay = createRelay({
      db: config.databaseUrl,
      schema: config.schema,
      transport: transportFrom(config),
      batchSize: config.batchSize,
      pollIntervalMs: config.pollIntervalMs,
      cursorIntervalMs: config.cursorIntervalMs,
      maxAttempts: config.maxAttempts,
      onFailure: config.onFailure,
      leaseMs: config.leaseMs,
      retentionDays: config.retentionDays,
      logger,
      ...(config.topicPrefix ? { topicPrefix: config.topicPrefix } : {}),
    });
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping');
      void relay.stop();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    if (flags.once === true) {
      const { published } = await relay.drain();
      process.stdout.write(`published ${published} event${published === 1 ? '' : 's'}\n`);
      return 0;
    }
    await relay.start();
    await relay.done;
    return 0;
  },
};
