// The demo's dashboards (`--keep-running`): one per service schema on one server of 127.0.0.1,
// /orders/dashboard/, /inventory/dashboard/ and /payments/dashboard/. Open, with no token: the
// server answers this machine only (set HERALD_ADMIN_TOKEN to require one).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AdminHandler, createAdminHandler, type Logger, type TopicStrategy, type Transport } from 'herald';
import type { PoolLike } from '../db.ts';

export async function serveDashboards(
  o: { db: PoolLike; transport: Transport; topic: TopicStrategy; logger: Logger },
  services: Record<string, string>,
): Promise<{ url: string; close(): Promise<void> }> {
  const admins: AdminHandler[] = Object.entries(services).map(([name, schema]) =>
    createAdminHandler({
      db: o.db,
      schema,
      transport: o.transport,
      topic: o.topic,
      open: true,
      basePath: `/${name}`,
      logger: o.logger,
    }),
  );
  const links = Object.keys(services)
    .map((name) => `<li><a href="/${name}/dashboard/">${name}</a></li>`)
    .join('');
  const server = createServer((req, res) => {
    // Each service's handler in turn; the last one's next() is the index of the three.
    const at = (i: number): void => {
      const admin = admins[i];
      if (admin) {
        admin(req, res, () => at(i + 1));
        return;
      }
      res.writeHead(req.url === '/' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>Herald demo</title><h1>Herald dashboards</h1><ul>${links}</ul>`);
    };
    at(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const admin of admins) await admin.close();
    },
  };
}
