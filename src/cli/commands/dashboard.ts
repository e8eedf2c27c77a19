import { isLoopback } from '../../admin/auth.ts';
import { resolveSettings } from '../../config/settings.ts';
import { HeraldError } from '../../errors.ts';
import { createLogger } from '../../observe/logger.ts';
import type { Transport } from '../../transports/transport.ts';
import { type Command, settingOptions, settingsHelp } from '../command.ts';
import { serveHttp } from '../http.ts';
import { transportFrom, transportKeys } from '../transport.ts';

const keys = [...transportKeys, 'topicPrefix', 'http', 'httpToken', 'adminToken', 'readToken', 'logLevel'] as const;
const defaultAddress = { host: '127.0.0.1', port: 7080 };

export const dashboardCommand: Command = {
  summary: 'Serve the admin API and web dashboard (and /healthz, /readyz) on its own, until stopped',
  options: { ...settingOptions(keys), open: { type: 'boolean' } },
  help: () =>
    `herald dashboard [--http HOST:PORT] [--open] [options]

Serves the dashboard at http://HOST:PORT/dashboard/ and the admin API under /api/ (docs/dashboard.md),
by default on 127.0.0.1:7080. Callers need HERALD_ADMIN_TOKEN's token (every action) or
HERALD_READ_TOKEN's (read-only). Without either the API is off, unless --open on a loopback address:
then every local caller is an admin. Broker settings let it retry dead letters and replay; without
them (Kafka with no brokers) it lists, discards and dry-runs only. Runs until SIGTERM or SIGINT.

  --open                 No credentials: every caller on this machine is an admin (loopback --http only)

${settingsHelp(keys)}`,
  async run(flags) {
    const config = resolveSettings(keys, flags, process.env);
    const logger = createLogger({ level: config.logLevel });
    const address = config.http ?? defaultAddress;
    const open = flags.open === true;
    if (open && !isLoopback(address.host)) {
      throw new HeraldError(
        'HERALD_INVALID_CONFIG',
        `--open: the admin API runs open on a loopback address only (127.0.0.1, ::1), not ${address.host}`,
        { details: { setting: '--open' } },
      );
    }
    if (!open && config.adminToken === undefined && config.readToken === undefined) {
      throw new HeraldError(
        'HERALD_INVALID_CONFIG',
        'herald dashboard needs HERALD_ADMIN_TOKEN or HERALD_READ_TOKEN (or --open on a loopback address)',
        { details: { setting: 'HERALD_ADMIN_TOKEN' } },
      );
    }
    let transport: Transport | undefined;
    if (config.transport !== 'kafka' || config.brokers) transport = transportFrom(config);
    else logger.warn({}, 'no KAFKA_BROKERS: dead letters cannot be retried nor events replayed from this dashboard');
    const served = await serveHttp(
      address,
      {
        checks: [],
        metrics: undefined,
        token: config.httpToken,
        admin: {
          db: config.databaseUrl,
          schema: config.schema,
          open,
          ...(transport ? { transport } : {}),
          ...(config.adminToken ? { adminToken: config.adminToken } : {}),
          ...(config.readToken ? { readToken: config.readToken } : {}),
          ...(config.topicPrefix ? { topicPrefix: config.topicPrefix } : {}),
        },
      },
      logger,
    );
    process.stdout.write(`herald dashboard: ${served.url}/dashboard/\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
    logger.info({}, 'stopping');
    await served.close();
    await transport?.close();
    return 0;
  },
};
