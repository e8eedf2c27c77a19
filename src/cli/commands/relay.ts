import { resolveSettings } from '../../config/settings.ts';
import { createLogger } from '../../observe/logger.ts';
import { createRelay } from '../../relay/relay.ts';
import { type Command, settingOptions, settingsHelp } from '../command.ts';
import { cliMetrics, serveHttp } from '../http.ts';
import { transportFrom, transportKeys } from '../transport.ts';

const relayKeys = [
  ...transportKeys,
  'topicPrefix',
  'batchSize',
  'pollIntervalMs',
  'cursorIntervalMs',
  'source',
  'replicationUrl',
  'maxAttempts',
  'onFailure',
  'leaseMs',
  'retentionDays',
  'keep',
  'http',
  'httpToken',
  'adminToken',
  'readToken',
  'logLevel',
] as const;

export const relayCommand: Command = {
  summary: 'Publish committed events from the log to the broker (Kafka by default) until stopped (SIGTERM/SIGINT)',
  options: { ...settingOptions(relayKeys), once: { type: 'boolean' } },
  help: () =>
    `herald relay [--once] [options]\n\nRuns until SIGTERM or SIGINT, then finishes the batch in flight and exits.\n--once publishes what is committed now, then exits (for cron-style runs). With --http, serves\n/healthz, /readyz and /metrics (docs/operations.md); with --admin-token or --read-token
(better: HERALD_ADMIN_TOKEN, HERALD_READ_TOKEN) also the admin API and dashboard (docs/dashboard.md).\n\n${settingsHelp(relayKeys)}`,
  async run(flags) {
    const config = resolveSettings(relayKeys, flags, process.env);
    const logger = createLogger({ level: config.logLevel });
    const metrics = config.http ? await cliMetrics(logger) : undefined;
    const relay = createRelay({
      db: config.databaseUrl,
      schema: config.schema,
      transport: transportFrom(config),
      batchSize: config.batchSize,
      pollIntervalMs: config.pollIntervalMs,
      cursorIntervalMs: config.cursorIntervalMs,
      source: config.source,
      ...(config.replicationUrl ? { replicationUrl: config.replicationUrl } : {}),
      maxAttempts: config.maxAttempts,
      onFailure: config.onFailure,
      leaseMs: config.leaseMs,
      retentionDays: config.retentionDays,
      ...(config.keep ? { keep: config.keep } : {}),
      logger,
      ...(config.topicPrefix ? { topicPrefix: config.topicPrefix } : {}),
      ...(metrics ? { metrics } : {}),
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
    const withAdmin = config.adminToken !== undefined || config.readToken !== undefined;
    // The admin API publishes retries and replays with a producer of its own, not the relay's.
    const adminTransport = config.http && withAdmin ? transportFrom(config) : undefined;
    const server = config.http
      ? await serveHttp(
          config.http,
          {
            checks: [relay],
            metrics,
            token: config.httpToken,
            ...(adminTransport
              ? {
                  admin: {
                    db: config.databaseUrl,
                    schema: config.schema,
                    transport: adminTransport,
                    ...(config.adminToken ? { adminToken: config.adminToken } : {}),
                    ...(config.readToken ? { readToken: config.readToken } : {}),
                    ...(config.topicPrefix ? { topicPrefix: config.topicPrefix } : {}),
                  },
                }
              : {}),
          },
          logger,
        )
      : undefined;
    try {
      await relay.start();
      await relay.done;
    } finally {
      await server?.close();
      await adminTransport?.close();
    }
    return 0;
  },
};
