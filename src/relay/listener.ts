import pg from 'pg';
import type { Logger } from '../observe/logger.ts';
import type { PoolLike } from '../store/connect.ts';
import { backoffDelay, sleep } from './backoff.ts';

interface NotifyingClient {
  query(text: string): Promise<unknown>;
  on(event: 'notification', fn: () => void): unknown;
  on(event: 'error' | 'end', fn: (error?: Error) => void): unknown;
  removeAllListeners(): unknown;
}

interface InProcessListener {
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
}

/**
 * Holds one connection in LISTEN and calls `onWake` on every NOTIFY. If the connection drops
 * (the database restarted), it reconnects with backoff and wakes once, since notifications sent
 * meanwhile were lost. Polling in the relay covers the time in between.
 */
export function startListener(options: {
  db: string | PoolLike;
  channel: string;
  onWake: () => void;
  logger: Logger;
  signal: AbortSignal;
}): Promise<void> {
  const { db, channel, onWake, logger, signal } = options;
  let attempt = 0;
  // A store that listens in-process (PGlite) needs no connection of its own.
  const inProcess = typeof db === 'string' ? undefined : (db as Partial<InProcessListener>).listen;
  if (inProcess) {
    return (async () => {
      const unlisten = await inProcess.call(db, channel, onWake);
      onWake();
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await unlisten();
    })();
  }

  const connect = async (): Promise<{ client: NotifyingClient; close: () => Promise<void> }> => {
    if (typeof db === 'string') {
      const client = new pg.Client({ connectionString: db, connectionTimeoutMillis: 5_000 });
      await client.connect();
      return { client: client as unknown as NotifyingClient, close: () => client.end() };
    }
    const client = await db.connect();
    if (typeof (client as unknown as Partial<NotifyingClient>).on !== 'function') {
      client.release();
      throw new Error('the pool does not give node-postgres clients; LISTEN is off, polling only');
    }
    return {
      client: client as unknown as NotifyingClient,
      close: async () => client.release(true),
    };
  };

  const loop = async () => {
    while (!signal.aborted) {
      let held: Awaited<ReturnType<typeof connect>> | undefined;
      try {
        held = await connect();
        const lost = new Promise<void>((resolve) => {
          held?.client.on('error', () => resolve());
          held?.client.on('end', () => resolve());
          // Stopped while connecting: an abort already past never fires its event.
          if (signal.aborted) resolve();
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
        held.client.on('notification', onWake);
        await held.client.query(`LISTEN "${channel}"`);
        if (attempt > 0) logger.info({ channel }, 'listener reconnected');
        attempt = 0;
        onWake(); // anything committed while we were not listening
        await lost;
      } catch (error) {
        if (attempt === 0) logger.warn({ channel, error }, 'listener lost its connection; polling until it is back');
      } finally {
        held?.client.removeAllListeners();
        // A connection that dies while closing still emits 'error': never an uncaught exception.
        held?.client.on('error', () => {});
        await held?.close().catch(() => {});
      }
      if (!signal.aborted) await sleep(backoffDelay(attempt++), signal);
    }
  };
  return loop();
}
