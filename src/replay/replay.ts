import { checkObject, integerSetting, invalidSetting } from '../config/check.ts';
import { checkDestination, checkTopicPrefix } from '../config/names.ts';
import { settingFromEnv } from '../config/settings.ts';
import { HeraldError, isHeraldError } from '../errors.ts';
import { uuidv7 } from '../events/uuidv7.ts';
import { retry } from '../retry/retry.ts';
import { type DatabaseOption, openPool, resolveDatabase, toDatabaseError } from '../store/connect.ts';
import { resolveSchema } from '../store/identifiers.ts';
import { assertMigrated } from '../store/migrate.ts';
import type { Position } from '../store/sql/read-batch.ts';
import { openSlice, type RangeFilter, readRange, summarizeRange } from '../store/sql/read-range.ts';
import {
  findReplay,
  insertReplay,
  lockReplay,
  type ReplayRecord,
  type ReplaySlice,
  type ReplayState,
  saveReplay,
  unlockReplay,
} from '../store/sql/replays.ts';
import type { OutgoingMessage, Transport } from '../transports/transport.ts';
import { toMessage } from '../wire/outgoing.ts';
import { prefixTopics, type TopicStrategy } from '../wire/topics.ts';

/** The header every replayed message carries: the replay run's id. */
export const replayHeader = 'herald-replay';

export interface ReplayOptions {
  /** A connection string or a node-postgres Pool (left open); default `DATABASE_URL`. */
  db?: DatabaseOption;
  /** Where to publish, e.g. `kafka({ brokers })`; left open. Not needed for a dry run. */
  transport?: Transport;
  schema?: string;
  /** Events written at or after this time (`created_at`)... (not needed with `resume`) */
  from?: Date;
  /** ...and before this time; default now. */
  to?: Date;
  /** Only events of these types (all types when absent or empty). */
  types?: readonly string[];
  /** Only events with these partition keys (all keys when absent or empty). */
  keys?: readonly string[];
  /** Only events of these aggregate types, e.g. a backfill of every `order` (seed 004). */
  aggregateTypes?: readonly string[];
  /** Publish every event to this topic instead of its own. */
  destination?: string;
  /** For events stored without a destination: `<prefix>.<type>`, or the type (as the relay). */
  topicPrefix?: string;
  /** Or any mapping from event type to topic, as the relay's `topic` option. */
  topic?: TopicStrategy;
  /** Count what would be published, by type and destination; publish nothing. */
  dryRun?: boolean;
  /** Events read and published per round trip; default 1000. */
  pageSize?: number;
  /** Called after each page (and once at the start with 0). */
  onProgress?: (done: number, total: number) => void;
  /** Stops after the page in flight; the result then has `complete: false`. */
  signal?: AbortSignal;
  /**
   * Resumes a replay that stopped (a signal, a crash, an error) where its last acknowledged page
   * ended, with its own slice, filters, destination and id: a replay id, or `true` for the latest
   * replay that did not complete. The other slice options must then be absent.
   */
  resume?: string | true;
}

export interface ReplayResult {
  /** A UUIDv7, the value of the `herald-replay` header of every message of this run. */
  replayId: string;
  /** Events in the slice. */
  matched: number;
  /** Events published (0 in a dry run). */
  published: number;
  /** Events published per type; in a dry run, what would be. */
  byType: Record<string, number>;
  /** Events published per topic; in a dry run, what would be. */
  byDestination: Record<string, number>;
  from: Date;
  to: Date;
  /** Earliest and latest `created_at` in the slice; null when it is empty. */
  first: Date | null;
  last: Date | null;
  seconds: number;
  eventsPerSecond: number;
  dryRun: boolean;
  /** False when `signal` stopped the replay before the end of the slice. */
  complete: boolean;
  /** Events this replay had published before this run resumed it (0 for a new replay). */
  resumedFrom: number;
}

/** Publish attempts per page for errors that retrying can cure (a broker restarting). */
const publishAttempts = 8;

const sliceOptions = ['from', 'to', 'types', 'keys', 'aggregateTypes', 'destination', 'topicPrefix', 'topic'] as const;

function checkOptions(options: ReplayOptions, to: Date): void {
  checkObject(options);
  if (options.resume !== undefined) {
    const id = options.resume;
    if (id !== true && (typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id))) {
      throw invalidSetting('resume', 'must be a replay id (a UUID) or true', id);
    }
    const given = sliceOptions.filter((k) => options[k] !== undefined);
    if (given.length > 0) {
      throw invalidSetting('resume', `takes the slice of the replay it resumes; ${given.join(', ')} must be absent`);
    }
    if (options.dryRun) throw invalidSetting('resume', 'cannot be a dry run');
    integerSetting('pageSize', options.pageSize, 1, 100_000);
    if (!options.transport || typeof (options.transport as Transport).publish !== 'function') {
      throw invalidSetting('transport', 'must be a Herald transport, e.g. kafka({ brokers })');
    }
    return;
  }
  const isTime = (d: unknown): d is Date => d instanceof Date && !Number.isNaN(d.getTime());
  if (!isTime(options.from)) throw invalidSetting('from', 'must be a valid Date', String(options.from));
  if (!isTime(to)) throw invalidSetting('to', 'must be a valid Date', String(to));
  if (options.from.getTime() >= to.getTime()) {
    throw invalidSetting('from', `must be before to (${to.toISOString()})`, options.from.toISOString());
  }
  integerSetting('pageSize', options.pageSize, 1, 100_000);
  for (const [setting, list] of [
    ['types', options.types],
    ['keys', options.keys],
    ['aggregateTypes', options.aggregateTypes],
  ] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((v) => typeof v !== 'string' || v.length === 0)) {
      throw invalidSetting(setting, 'must be a list of non-empty strings', list);
    }
  }
  if (options.destination !== undefined) {
    try {
      checkDestination(options.destination, 'destination');
    } catch (error) {
      throw invalidSetting('destination', (error as Error).message.replace(/^destination: /, ''));
    }
  }
  checkTopicPrefix(options.topicPrefix);
  if (!options.dryRun && (!options.transport || typeof (options.transport as Transport).publish !== 'function')) {
    throw invalidSetting('transport', 'must be a Herald transport, e.g. kafka({ brokers }), unless dryRun');
  }
}

const bump = (counts: Record<string, number>, key: string, by = 1) => {
  counts[key] = (counts[key] ?? 0) + by;
};

/**
 * Publishes a slice of the log again: the events written in `[from, to)`, optionally only some
 * types and keys, in the log's `(xid, seq)` order, page by page, each page acknowledged before
 * the next is read, so events with one key arrive in their original order. Messages are those the
 * relay sends (same CloudEvents headers, same `ce_id`) plus the `herald-replay` header.
 *
 * The slice is fixed when the replay starts: only transactions that had ended by then are read.
 * A replay that publishes records its slice and, after each acknowledged page, its position
 * (the `replays` table): `resume` continues one that stopped, with the same id and slice.
 */
export async function replayEvents(options: ReplayOptions): Promise<ReplayResult> {
  const to = options.to ?? new Date();
  checkOptions(options, to);
  const schema = resolveSchema(options.schema).name;
  const { pool, owned, target } = openPool(resolveDatabase(options.db), 2);
  // The session lock that says this replay runs is held on a client of its own for the run.
  let lockClient: Awaited<ReturnType<typeof pool.connect>> | undefined;
  let locked: string | undefined;
  try {
    let checkpoint: ReplayRecord | undefined;
    try {
      await assertMigrated(pool, schema);
      if (options.resume !== undefined) {
        const id = options.resume === true ? undefined : options.resume;
        checkpoint = await findReplay(pool, schema, id);
        if (!checkpoint) {
          throw new HeraldError(
            'HERALD_REPLAY_NOT_FOUND',
            id
              ? `no replay ${id} in schema "${schema}"`
              : `no replay to resume in schema "${schema}": every one completed`,
            { details: { schema, replayId: id ?? null } },
          );
        }
        if (checkpoint.state === 'complete') {
          throw new HeraldError(
            'HERALD_REPLAY_NOT_FOUND',
            `replay ${checkpoint.id} completed; there is nothing to resume`,
            {
              details: { schema, replayId: checkpoint.id },
            },
          );
        }
      }
      if (!options.dryRun) {
        lockClient = await pool.connect();
        const id = checkpoint?.id ?? uuidv7();
        if (!(await lockReplay(lockClient, id))) {
          throw new HeraldError('HERALD_REPLAY_RUNNING', `replay ${id} is running in another process`, {
            details: { schema, replayId: id },
          });
        }
        locked = id;
      }
    } catch (error) {
      throw toDatabaseError(error, target);
    }
    return await run(options, schema, pool, target, to, locked ?? uuidv7(), checkpoint);
  } finally {
    if (lockClient) {
      if (locked) await unlockReplay(lockClient, locked).catch(() => {});
      lockClient.release();
    }
    if (owned) await pool.end?.().catch(() => {});
  }
}

/** The slice a replay reads, from its options or from the checkpoint it resumes. */
function sliceOf(options: ReplayOptions, to: Date, checkpoint: ReplayRecord | undefined): ReplaySlice {
  if (checkpoint) return checkpoint.slice;
  return {
    from: (options.from as Date).toISOString(),
    to: to.toISOString(),
    ...(options.types?.length ? { types: [...options.types] } : {}),
    ...(options.keys?.length ? { keys: [...options.keys] } : {}),
    ...(options.aggregateTypes?.length ? { aggregateTypes: [...options.aggregateTypes] } : {}),
    ...(options.destination ? { destination: options.destination } : {}),
    ...(options.topicPrefix ? { topicPrefix: options.topicPrefix } : {}),
  };
}

async function run(
  options: ReplayOptions,
  schema: string,
  pool: ReturnType<typeof openPool>['pool'],
  target: string,
  givenTo: Date,
  replayId: string,
  checkpoint: ReplayRecord | undefined,
): Promise<ReplayResult> {
  const { transport, signal } = options;
  const dryRun = options.dryRun === true;
  const pageSize = options.pageSize ?? 1000;
  const slice = sliceOf(options, givenTo, checkpoint);
  const from = new Date(slice.from);
  const to = new Date(slice.to);
  const topicFor: TopicStrategy =
    (checkpoint ? undefined : options.topic) ?? prefixTopics(slice.topicPrefix ?? settingFromEnv('topicPrefix'));
  const started = performance.now();
  // A resumed replay goes on counting from where it stopped.
  const byType: Record<string, number> = { ...checkpoint?.byType };
  const byDestination: Record<string, number> = { ...checkpoint?.byDestination };
  const resumedFrom = checkpoint?.published ?? 0;
  let published = resumedFrom;
  let matched = 0;
  let first: Date | null = null;
  let last: Date | null = null;
  let complete = true;
  let position: Position = checkpoint?.position ?? { xid: '0', seq: '0' };

  const result = (): ReplayResult => {
    const seconds = (performance.now() - started) / 1000;
    return {
      replayId,
      matched,
      published,
      byType,
      byDestination,
      from,
      to,
      first,
      last,
      seconds: Math.round(seconds * 1000) / 1000,
      eventsPerSecond: seconds > 0 ? Math.round((published - resumedFrom) / seconds) : 0,
      dryRun,
      complete,
      resumedFrom,
    };
  };

  const save = (state: ReplayState, error?: string) =>
    saveReplay(pool, schema, replayId, { position, published, byType, byDestination, state, error: error ?? null });

  const publishPage = async (messages: OutgoingMessage[]) => {
    const sender = transport as Transport;
    const outcome = await retry(() => sender.publish(messages), {
      ...(signal ? { signal } : {}),
      attempts: publishAttempts,
      outages: publishAttempts,
      // A fresh producer for the next attempt, as the relay does.
      onError: () => sender.close().catch(() => {}),
    });
    if (outcome.ok) return true;
    if (outcome.stopped) return false;
    const { error } = outcome;
    const code = isHeraldError(error) ? error.code : 'HERALD_PUBLISH_FAILED';
    const reason = error instanceof Error ? error.message : String(error);
    await save('failed', reason).catch(() => {});
    throw new HeraldError(
      code,
      `replay ${replayId} stopped after publishing ${published} of ${matched} events: ${reason}; resume it with \`herald replay --resume ${replayId}\``,
      {
        cause: error,
        details: { replayId, published, matched, position },
      },
    );
  };

  let filter: RangeFilter;
  try {
    // The events of every transaction committed now (or when the resumed replay began).
    const opened = checkpoint ?? (await openSlice(pool));
    filter = {
      horizon: opened.horizon,
      snapshot: opened.snapshot,
      from,
      to,
      ...(slice.types ? { types: slice.types } : {}),
      ...(slice.keys ? { keys: slice.keys } : {}),
      ...(slice.aggregateTypes ? { aggregateTypes: slice.aggregateTypes } : {}),
    };
    // One query for the total (the progress bar), the dry run's counts and first/last.
    for (const group of await summarizeRange(pool, schema, filter)) {
      matched += group.count;
      if (first === null || group.first < first) first = group.first;
      if (last === null || group.last > last) last = group.last;
      if (dryRun) {
        bump(byType, group.type, group.count);
        bump(byDestination, slice.destination ?? group.destination ?? topicFor(group.type), group.count);
      }
    }
    if (!dryRun && !checkpoint)
      await insertReplay(pool, schema, {
        id: replayId,
        slice,
        horizon: opened.horizon,
        snapshot: opened.snapshot,
        matched,
      });
  } catch (error) {
    throw toDatabaseError(error, target);
  }
  options.onProgress?.(published, Math.max(matched, published));
  if (dryRun) return result();

  for (;;) {
    if (signal?.aborted) {
      complete = false;
      break;
    }
    const rows = await readRange(pool, schema, filter, position, pageSize).catch((error) => {
      throw toDatabaseError(error, target);
    });
    if (rows.length === 0) break;
    const messages = rows.map((row) => {
      const message = toMessage(row, topicFor);
      // A stored destination wins in toMessage; --destination wins over everything.
      if (slice.destination) message.topic = slice.destination;
      message.headers[replayHeader] = replayId;
      // The record's timestamp is the time of the replay, not the event's (which ce_time keeps):
      // a topic's time-based retention would otherwise delete last month's events at once.
      delete message.time;
      return message;
    });
    if (!(await publishPage(messages))) {
      complete = false;
      break;
    }
    for (const [i, row] of rows.entries()) {
      bump(byType, row.type);
      bump(byDestination, (messages[i] as OutgoingMessage).topic);
    }
    published += rows.length;
    const lastRow = rows[rows.length - 1] as (typeof rows)[number];
    position = { xid: lastRow.xid, seq: lastRow.seq };
    await save('running').catch((error) => {
      throw toDatabaseError(error, target);
    });
    options.onProgress?.(published, Math.max(matched, published));
    if (rows.length < pageSize) break;
  }
  await save(complete ? 'complete' : 'stopped').catch((error) => {
    throw toDatabaseError(error, target);
  });
  return result();
}
