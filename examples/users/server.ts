// The users API: each change of a user commits its row and its event in one transaction
// (Herald's outbox), and a relay in this process publishes the events. POST /test/crash commits
// a user and then kills the process before anything is published; after a restart the relay
// publishes the event, once. See docs/users.md.
//   node examples/users/server.ts                                   (embedded: PGlite in .data/users)
//   DATABASE_URL=postgres://... KAFKA_BROKERS=127.0.0.1:9092 node examples/users/server.ts
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRelay } from 'herald';
import { z } from 'zod';
import { openBackend } from './backend.ts';
import { HttpError, readBody, send, sendError } from './http.ts';
import { usersTable } from './users.ts';

const backend = await openBackend();
const users = usersTable(backend.db, backend.schema);
const relay = createRelay({ db: backend.db, schema: backend.schema, transport: backend.transport });
await relay.start();

const NewUser = z.object({ email: z.email(), name: z.string().trim().min(1).max(200) });
const UserChanges = NewUser.partial().refine((c) => c.email !== undefined || c.name !== undefined, {
  message: 'give email, name or both',
});
const CrashRequest = NewUser.extend({ crash_after_db: z.literal(true) });
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const notFound = (id: string) => new HttpError(404, 'user_not_found', `no user ${id}`);

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const userId = /^\/users\/([^/]+)$/.exec(path)?.[1];
  const id = userId && uuid.test(userId) ? userId.toLowerCase() : undefined;

  if (req.method === 'POST' && path === '/users') {
    return send(res, 201, await users.create(await readBody(req, NewUser)));
  }
  if (req.method === 'GET' && userId !== undefined) {
    const user = id && (await users.get(id));
    if (!user) throw notFound(userId);
    return send(res, 200, user);
  }
  if (req.method === 'PUT' && userId !== undefined) {
    const changes = await readBody(req, UserChanges);
    const user = id && (await users.update(id, changes));
    if (!user) throw notFound(userId);
    return send(res, 200, user);
  }
  if (req.method === 'GET' && path === '/health') {
    const relayHealth = await relay.health().then(
      (h) => ({ state: h.relay.state, healthy: h.healthy, published: h.relay.published, problems: h.problems }),
      () => ({ state: relay.stats().state }),
    );
    return send(res, 200, { status: 'ok', backend: backend.kind, relay: relayHealth });
  }
  // #region crash
  if (req.method === 'POST' && path === '/test/crash') {
    const input = await readBody(req, CrashRequest);
    // The user and its user.created event commit together; the process dies in the same tick
    // as COMMIT returns, before the relay (or the response) can go anywhere.
    await users.create(input, (user) => {
      console.log(`committed ${user.id}, crashing before publishing`);
      process.kill(process.pid, 'SIGKILL');
    });
  }
  // #endregion crash
  if (['/users', '/health', '/test/crash'].includes(path) || userId !== undefined) {
    throw new HttpError(405, 'method_not_allowed', `${req.method} ${path} is not supported`);
  }
  throw new HttpError(404, 'not_found', `no route ${req.method} ${path}`);
}

const server = createServer((req, res) => void route(req, res).catch((error) => sendError(res, error)));
server.listen(Number(process.env.PORT ?? 8081), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : process.env.PORT;
  console.log(`users API listening on http://127.0.0.1:${port}`);
});

async function shutdown(signal: string): Promise<void> {
  console.log(`${signal}: stopping`);
  server.close();
  server.closeIdleConnections();
  await relay.stop();
  await backend.db.end();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
