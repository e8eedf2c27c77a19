import type { PoolLike } from './connect.ts';

type Corkable = { connection?: { stream?: { cork?: () => void; uncork?: () => void } } };

/**
 * Runs `fn` with node-postgres' socket corked, so the statements it sends go out in one write. A
 * client in pipeline mode sends a statement as soon as it is asked, without waiting for the answer
 * to the one before: corked, the statements of several handlers started together are one system
 * call instead of one each. Any other client (or an ORM's transaction object) runs `fn` as it is.
 */
export function inOneWrite<T>(client: unknown, fn: () => T): T {
  const stream = (client as Corkable | null)?.connection?.stream;
  if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return fn();
  stream.cork();
  try {
    return fn();
  } finally {
    stream.uncork();
  }
}

/**
 * Whether the pool's node-postgres clients are in pipeline mode (`new pg.Pool({ pipeline: true })`,
 * node-postgres 8.23 or later; older versions ignore the option): asked of a client it hands out.
 */
export async function poolPipelines(pool: PoolLike): Promise<boolean> {
  const client = await pool.connect();
  try {
    return (client as { pipeline?: unknown }).pipeline === true;
  } finally {
    client.release();
  }
}
