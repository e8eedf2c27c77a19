import { isHeraldError } from '../errors.ts';
import type { Logger } from '../observe/logger.ts';
import { redact } from '../observe/logger.ts';
import type { ReplayOptions, ReplayResult } from '../replay/replay.ts';

export type ReplayState = 'running' | 'completed' | 'cancelled' | 'failed';

/** A replay started through the admin API, as GET /api/replays/:id shows it. */
export interface ReplayJob {
  id: string;
  state: ReplayState;
  /** Events published so far, of `total` (counted when the replay starts). */
  done: number;
  total: number | null;
  startedAt: Date;
  finishedAt: Date | null;
  filter: {
    from: Date;
    to: Date | null;
    types: string[];
    aggregateTypes: string[];
    keys: string[];
    destination: string | null;
    dryRun: boolean;
  };
  /** The summary once it ended (`herald replay --json`'s). */
  result: ReplayResult | null;
  error: { code: string; message: string } | null;
}

/** How many ended jobs are remembered; running ones always are. */
const keptJobs = 50;

/**
 * Replays run by this process for the admin API: started, watched and cancelled by id. They live
 * in memory: a replay is one process publishing, and stops with it.
 */
export function createReplayJobs(
  run: (options: Omit<ReplayOptions, 'db' | 'schema' | 'transport'>) => Promise<ReplayResult>,
  logger: Logger,
) {
  const jobs = new Map<string, ReplayJob & { stopper: AbortController; finished: Promise<void> }>();
  let counter = 0;

  const view = (j: ReplayJob): ReplayJob => ({
    id: j.id,
    state: j.state,
    done: j.done,
    total: j.total,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    filter: j.filter,
    result: j.result,
    error: j.error,
  });

  const forgetOld = () => {
    const ended = [...jobs.values()].filter((j) => j.state !== 'running');
    for (const j of ended.slice(0, Math.max(0, ended.length - keptJobs))) jobs.delete(j.id);
  };

  return {
    start(filter: ReplayJob['filter'], pageSize: number | undefined): ReplayJob {
      const stopper = new AbortController();
      counter++;
      const job = {
        // The replay's own id (its header) is known once it ends; the job's id is known at once.
        id: `r${Date.now().toString(36)}${counter.toString(36)}`,
        state: 'running' as ReplayState,
        done: 0,
        total: null as number | null,
        startedAt: new Date(),
        finishedAt: null as Date | null,
        filter,
        result: null as ReplayResult | null,
        error: null as { code: string; message: string } | null,
        stopper,
        finished: Promise.resolve(),
      };
      jobs.set(job.id, job);
      job.finished = run({
        from: filter.from,
        ...(filter.to ? { to: filter.to } : {}),
        ...(filter.types.length ? { types: filter.types } : {}),
        ...(filter.aggregateTypes.length ? { aggregateTypes: filter.aggregateTypes } : {}),
        ...(filter.keys.length ? { keys: filter.keys } : {}),
        ...(filter.destination ? { destination: filter.destination } : {}),
        dryRun: filter.dryRun,
        ...(pageSize ? { pageSize } : {}),
        signal: stopper.signal,
        onProgress: (done, total) => {
          job.done = done;
          job.total = total;
        },
      }).then(
        (result) => {
          job.result = result;
          job.done = result.published;
          job.total = result.matched;
          job.state = result.complete ? 'completed' : 'cancelled';
          job.finishedAt = new Date();
          forgetOld();
        },
        (error: unknown) => {
          job.state = 'failed';
          job.finishedAt = new Date();
          const message = redact(error instanceof Error ? error.message : String(error)) as string;
          job.error = { code: isHeraldError(error) ? error.code : 'HERALD_PUBLISH_FAILED', message };
          logger.warn({ replay: job.id, error }, 'replay failed');
          forgetOld();
        },
      );
      return view(job);
    },
    get: (id: string) => {
      const j = jobs.get(id);
      return j ? view(j) : undefined;
    },
    list: () => [...jobs.values()].reverse().map(view),
    /** Stops a running job after its page in flight; resolves once it has stopped. */
    async cancel(id: string): Promise<ReplayJob | undefined> {
      const j = jobs.get(id);
      if (!j) return undefined;
      j.stopper.abort();
      await j.finished;
      return view(j);
    },
    /** Stops every running job (the server closing). */
    async close() {
      for (const j of jobs.values()) j.stopper.abort();
      await Promise.all([...jobs.values()].map((j) => j.finished));
    },
  };
}

export type ReplayJobs = ReturnType<typeof createReplayJobs>;
