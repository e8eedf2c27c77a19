import type { ConsumerDeadLetters } from '../deadletters/consumer-dead-letters.ts';
import type { DeadLetters } from '../deadletters/dead-letters.ts';
import type { HeraldStatus } from '../status/status.ts';
import type { PoolLike } from '../store/connect.ts';
import type { Role } from './auth.ts';
import type { Fields, Input } from './input.ts';
import type { ReplayJobs } from './replays.ts';

/** What every route works with: one pool, the schema, the dead-letter APIs, the replay jobs. */
export interface AdminContext {
  pool: PoolLike;
  schema: string;
  /** The status, read at most once a second whatever the number of callers. */
  status(): Promise<HeraldStatus>;
  history(): StatusSample[];
  deadLetters: DeadLetters;
  consumerDeadLetters: ConsumerDeadLetters;
  /** Whether a transport was given: the relay's dead letters can be published again, replays run. */
  canPublish: boolean;
  replays: ReplayJobs;
  role: Role;
}

/** One point of the overview's charts. */
export interface StatusSample {
  at: Date;
  pending: number;
  oldestAgeSeconds: number | null;
  writtenPerSecond: number;
  publishedPerSecond: number;
  deadLetters: number;
  /** Over every consumer group that stored its lag; null when none did. */
  consumerLag: number | null;
}

export interface Reply {
  status?: number;
  body: unknown;
}

/** A route's answer that is not a success: 404, 409 … with the reason. */
export class Refusal extends Error {
  readonly status: number;
  constructor(status: number, reason: string) {
    super(reason);
    this.status = status;
  }
}

export interface Route<Q extends Fields = Fields, B extends Fields = Fields> {
  method: 'GET' | 'POST';
  /** OpenAPI style: `/api/dead-letters/{id}`. */
  path: string;
  /** The least role that may call it. */
  role: Role;
  summary: string;
  /** The path parameters' descriptions, by name. */
  params?: Record<string, string>;
  query?: Q;
  body?: B;
  /** What the answer holds, in a sentence (the OpenAPI response's description). */
  returns: string;
  run(
    input: { params: Record<string, string>; query: Input<Q>; body: Input<B> },
    context: AdminContext,
  ): Promise<Reply>;
}

/** Declares a route, its input types inferred from its fields. */
export const route = <Q extends Fields = Record<never, never>, B extends Fields = Record<never, never>>(
  r: Route<Q, B>,
): Route => r as unknown as Route;
