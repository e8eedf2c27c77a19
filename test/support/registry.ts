/**
 * The Confluent-compatible schema registry the tests use: SCHEMA_REGISTRY_URL, else the Apicurio
 * Registry that infra/up.mjs starts (its /apis/ccompat/v7), started here if it is not running.
 * When none can run here (no Java 21+; no distribution and no mvn to fetch it; a fetch or a
 * start-up that fails), `registryUrl()` resolves null and the tests skip, saying why: a machine
 * without a registry still passes the suite.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { APICURIO_CCOMPAT, apicurioAnswers, apicurioUnavailable, startApicurio } from '../../infra/apicurio.mjs';

let started: Promise<string | null> | undefined;
export let registryUnavailable: string | null = null;

export function registryUrl(): Promise<string | null> {
  if (process.env.SCHEMA_REGISTRY_URL) return Promise.resolve(process.env.SCHEMA_REGISTRY_URL);
  started ??= (async () => {
    // One already answering is used as it is, whatever runs it.
    if (await apicurioAnswers()) return APICURIO_CCOMPAT;
    registryUnavailable = apicurioUnavailable();
    if (registryUnavailable) return null;
    try {
      await startApicurio();
    } catch (error) {
      registryUnavailable = `Apicurio Registry did not start: ${String((error as Error).message)
        .split('\n')[0]
        ?.replace(/:$/, '')}`;
      return null;
    }
    return APICURIO_CCOMPAT;
  })();
  return started;
}

/**
 * A counting HTTP proxy in front of the real registry: every request it forwards is recorded
 * (method, path, the Authorization header), so a test can see what the client sent and how often.
 * With `state.down` set it answers 503 instead, as a registry that is away (`refused()` counts those).
 */
export async function recordingProxy(target: string) {
  const to = new URL(target);
  const seen: { method: string; path: string; authorization: string | undefined }[] = [];
  const state = { down: false };
  let refused = 0;
  const server = http.createServer((req, res) => {
    if (state.down) {
      refused++;
      // As a registry behind a load balancer answers while it is away.
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: 50301, message: 'unavailable' }));
      return;
    }
    seen.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization });
    const upstream = http.request(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: `${to.pathname.replace(/\/$/, '')}${req.url}`,
        headers: { ...req.headers, host: to.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    state,
    refused: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
