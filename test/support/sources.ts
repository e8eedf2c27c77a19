// The relay's two sources, for the tests that must hold for both (gapless reads, SIGKILL). The
// CDC source needs wal_level=logical: it runs on a private cluster of its own (infra/postgres.mjs)
// so the shared database, which may be the user's, is never reconfigured.
import type { PrivatePostgres } from '../../infra/postgres.d.mts';
import { privatePostgres } from '../../infra/postgres.mjs';
import { databaseUrl } from './env.ts';

export const sources = ['polling', 'cdc'] as const;
export type Source = (typeof sources)[number];

export interface SourceDatabase {
  url: string;
  close(): Promise<void>;
}

/** Where a test of `source` runs: the shared database for polling, a logical cluster for CDC. */
export async function databaseFor(source: Source): Promise<SourceDatabase> {
  if (source === 'polling') return { url: databaseUrl, close: async () => {} };
  const cluster: PrivatePostgres = await privatePostgres({
    settings: { wal_level: 'logical', max_wal_senders: 10, max_replication_slots: 10 },
  });
  return { url: cluster.url, close: () => cluster.destroy() };
}
