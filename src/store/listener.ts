import pg from 'pg';
import type { Logger } from '../observe/logger.ts';
import { retry } from '../retry/retry.ts';
import type { PoolLike } from './connect.ts';

interface NotifyingClient {
  query(text: string): Promise<unknown>;
  on(event: 'notification', fn: () => void): unknown;
  on(event: 'error' | 'end', fn: (error?: Error) => void): unknown;
  removeAllListeners(): unknown;
}

interface Held {
  client: NotifyingClient;
  close: () => Promise<void>;
}

const untilAborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });

/**
 * Holds one connection in LISTEN and calls `onWake` on every NOTIFY, until the signal. If the
 * connection drops (the database restarted), it reconnects with backoff and wakes once, since
 * notifications sent meanwhile were lost; polling covers the time in between. A pool that can
 * listen in-process (PGlite, see PoolLike.listen) needs no connection of its own.
 */
export async function startListener(options: {
  db: string | PoolLike;
  channel: string;
  onWake: () => void;
  logger: Logger;
  signal: AbortSignal;
}): Promise<void> {
  const { db, channel, onWake, logger, signal } = options;
  if (typeof db !== 'string' && db.listen) {
    const unlisten = await db.listen(channel, onWake);
    onWake();
    await untilAborted(signal);
    await unlisten();
    return;
  }

  const connect = async (): Promise<Held> => {
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
    return { client: client as unknown as NotifyingClient, close: async () => client.release(true) };
  };

  /**
   * One connection's life: LISTEN, wake on each NOTIFY, and return when it is lost (or at stop).
   * Throws only when it cannot connect or LISTEN, which the retry below paces.
   */
  const listenOnce = async () => {
    const held = await connect();
    try {
      const lost = new Promise<boolean>((resolve) => {
        held.client.on('error', () => resolve(true));
        held.client.on('end', () => resolve(true));
        // Stopped while connecting: an abort already past never fires its event.
        void untilAborted(signal).then(() => resolve(false));
      });
      held.client.on('notification', onWake);
      await held.client.query(`LISTEN "${channel}"`);
      if (down) logger.info({ channel }, 'listener reconnected');
      down = false;
      onWake(); // anything committed while we were not listening
      if (await lost) {
        down = true;
        logger.warn({ channel }, 'listener lost its connection; polling until it is back');
      }
    } finally {
      held.client.removeAllListeners();
      // A connection that dies while closing still emits 'error': never an uncaught exception.
      held.client.on('error', () => {});
      await held.close().catch(() => {});
    }
  };

  let down = false;
  while (!signal.aborted) {
    await retry(listenOnce, {
      signal,
      retryPermanent: true,
      onError: (error) => {
        if (!down) logger.warn({ channel, error }, 'listener cannot connect; polling until it can');
        down = true;
      },
    });
  }
}
