import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AdminHandlerOptions, createAdminHandler } from '../admin/handler.ts';
import { createHttpHandler, type HealthCheck } from '../observe/http.ts';
import type { Logger } from '../observe/logger.ts';
import { type PrometheusMetrics, prometheusMetrics } from '../observe/prometheus.ts';

/** Metrics for `--http`: Prometheus when prom-client is installed, none (and a warning) when not. */
export async function cliMetrics(logger: Logger): Promise<PrometheusMetrics | undefined> {
  try {
    return await prometheusMetrics();
  } catch (error) {
    logger.warn({ error }, '/metrics is off: prom-client is not installed (npm install prom-client)');
    return undefined;
  }
}

export interface HttpServer {
  server: Server;
  /** Where it listens, e.g. `http://127.0.0.1:7080`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves /healthz, /readyz and /metrics for `herald relay --http HOST:PORT` and `herald dashboard`
 * until closed; with `admin`, the admin API and dashboard beside them.
 */
export async function serveHttp(
  address: { host: string; port: number },
  options: {
    checks: HealthCheck[];
    metrics: PrometheusMetrics | undefined;
    token: string | undefined;
    admin?: AdminHandlerOptions;
  },
  logger: Logger,
): Promise<HttpServer> {
  const health = {
    checks: options.checks,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  };
  const admin = options.admin
    ? createAdminHandler({
        ...options.admin,
        ...health,
        logger,
        ...(options.token ? { healthToken: options.token } : {}),
      })
    : undefined;
  const handler = admin ?? createHttpHandler({ ...health, ...(options.token ? { token: options.token } : {}) });
  const server = createServer(handler);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => resolve());
    });
  } catch (error) {
    await admin?.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const url = `http://${host}:${port}`;
  logger.info(
    { host: address.host, port, token: options.token !== undefined, admin: admin !== undefined },
    'http endpoints listening',
  );
  return {
    server,
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await admin?.close();
    },
  };
}
