import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

/** Serves /healthz, /readyz and /metrics for `herald relay --http HOST:PORT` until closed. */
export async function serveHttp(
  address: { host: string; port: number },
  options: { checks: HealthCheck[]; metrics: PrometheusMetrics | undefined; token: string | undefined },
  logger: Logger,
): Promise<Server> {
  const handler = createHttpHandler({
    checks: options.checks,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.token ? { token: options.token } : {}),
  });
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ host: address.host, port, token: options.token !== undefined }, 'http endpoints listening');
  return server;
}
