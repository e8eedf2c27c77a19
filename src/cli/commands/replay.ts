import { resolveSettings } from '../../config/settings.ts';
import { parseTime } from '../../config/time.ts';
import { HeraldError } from '../../errors.ts';
import { createProgress } from '../../replay/progress.ts';
import { type ReplayOptions, type ReplayResult, replayEvents } from '../../replay/replay.ts';
import type { Transport } from '../../transports/transport.ts';
import { type Command, settingOptions, settingsHelp } from '../command.ts';
import { transportFrom, transportKeys } from '../transport.ts';

const replayKeys = [...transportKeys, 'topicPrefix'] as const;
// A dry run publishes nothing, so it needs no brokers.
const dryRunKeys = ['databaseUrl', 'schema', 'topicPrefix'] as const;

/** Values of a repeatable flag (parseArgs gives an array for `multiple: true`). */
function list(value: unknown, splitCommas: boolean): string[] {
  const raw = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  const items = raw.flatMap((v: unknown) => (splitCommas ? String(v).split(',') : [String(v)]));
  return items.map((v) => (splitCommas ? v.trim() : v)).filter((v) => v.length > 0);
}

function pageSize(raw: unknown): number | undefined {
  if (typeof raw !== 'string') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > 100_000) {
    throw new HeraldError(
      'HERALD_INVALID_CONFIG',
      `--page-size: ${JSON.stringify(raw)} must be an integer from 1 to 100000`,
      {
        details: { setting: '--page-size' },
      },
    );
  }
  return n;
}

function table(title: string, counts: Record<string, number>): string[] {
  const entries = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return [];
  const width = Math.max(...entries.map(([k]) => k.length));
  return [`  ${title}:`, ...entries.map(([k, n]) => `    ${k.padEnd(width)}  ${n}`)];
}

function summary(r: ReplayResult): string {
  const window = `written from ${r.from.toISOString()} to ${r.to.toISOString()}`;
  const span = r.first && r.last ? ` (first ${r.first.toISOString()}, last ${r.last.toISOString()})` : '';
  const head = r.dryRun
    ? `dry run: would publish ${r.matched} events ${window}${span}; published nothing`
    : `${r.complete ? 'replayed' : 'stopped: replayed'} ${r.published} of ${r.matched} events ${window}${span}` +
      `${r.resumedFrom > 0 ? ` (resumed after ${r.resumedFrom})` : ''}` +
      ` in ${r.seconds.toFixed(2)} s (${r.eventsPerSecond} events/s); herald-replay ${r.replayId}` +
      `${r.complete ? '' : `; continue with herald replay --resume --replay-id ${r.replayId}`}`;
  return [head, ...table('by type', r.byType), ...table('by destination', r.byDestination)].join('\n');
}

export const replayCommand: Command = {
  summary: 'Publish a time slice of the log again, to its own topics or to one (--dry-run: count only)',
  options: {
    ...settingOptions(replayKeys),
    from: { type: 'string' },
    to: { type: 'string' },
    type: { type: 'string', multiple: true },
    key: { type: 'string', multiple: true },
    'aggregate-type': { type: 'string', multiple: true },
    destination: { type: 'string' },
    'page-size': { type: 'string' },
    'dry-run': { type: 'boolean' },
    resume: { type: 'boolean' },
    'replay-id': { type: 'string' },
    json: { type: 'boolean' },
  },
  help: () =>
    `herald replay --from <time> [--to <time>] [--type T]... [--key K]... [--aggregate-type A]... [--destination D] [--dry-run] [--json] [options]
herald replay --resume [--replay-id <id>] [--json] [options]

Publishes again the events written in [--from, --to), in log order (per key, the order they were
written), each to its own topic or all to --destination. Messages keep their ce_id and carry a
herald-replay header with this run's id. Only committed events are read; no relay needs to run.
A progress bar goes to stderr on a terminal; a summary to stdout at the end. Exit code 130 when
interrupted (SIGINT/SIGTERM stop after the page in flight).

Each replay records its slice and, after every page the broker acknowledged, where it got to
(the schema's replays table). --resume continues the latest replay that did not complete (or
--replay-id's) from there, with its own slice, filters, destination and id; at most the page in
flight when it stopped is published twice (consumers drop it by ce_id).

Times: ISO 8601 (2025-06-01, 2025-06-01T12:00:00Z; UTC unless an offset is given), now, or a
duration before now (90s, 30m, 2h, 7d, 1w, 1h30m).

  --from <time>          Start, inclusive (required)
  --to <time>            End, exclusive (default now)
  --type <type>          Only these event types; repeat the flag or give a comma-separated list
  --key <key>            Only these partition keys; repeat the flag (a key is taken as it is)
  --aggregate-type <a>   Only events of these aggregate types (a backfill of every order); repeat or comma-separate
  --destination <topic>  Publish every event to this topic instead of its own
  --page-size <n>        Events read and published per round trip (default 1000)
  --dry-run              Publish nothing; print counts per type and destination, first and last time
  --resume               Continue the latest replay that stopped (a signal, a crash, an error)
  --replay-id <id>       With --resume: that replay instead of the latest
  --json                 Print the summary as one JSON line on stdout

${settingsHelp(replayKeys)}`,
  async run(flags) {
    const dryRun = flags['dry-run'] === true;
    const now = new Date();
    if (flags.resume === true) return resume(flags);
    if (typeof flags['replay-id'] === 'string') {
      throw new HeraldError('HERALD_INVALID_CONFIG', '--replay-id: goes with --resume', {
        details: { setting: '--replay-id' },
      });
    }
    if (typeof flags.from !== 'string' || flags.from.trim() === '') {
      throw new HeraldError(
        'HERALD_INVALID_CONFIG',
        '--from is required: the start of the slice (e.g. 2h, 2025-06-01)',
        {
          details: { setting: '--from' },
        },
      );
    }
    const from = parseTime(flags.from, '--from', now);
    const to = typeof flags.to === 'string' ? parseTime(flags.to, '--to', now) : now;
    if (from.getTime() >= to.getTime()) {
      throw new HeraldError(
        'HERALD_INVALID_CONFIG',
        `--from: ${from.toISOString()} must be before --to (${to.toISOString()})`,
        { details: { setting: '--from' } },
      );
    }
    const types = list(flags.type, true);
    const keys = list(flags.key, false);
    const aggregateTypes = list(flags['aggregate-type'], true);
    const size = pageSize(flags['page-size']);
    const destination = typeof flags.destination === 'string' ? flags.destination : undefined;
    const withBroker = dryRun ? undefined : resolveSettings(replayKeys, flags, process.env);
    const config = withBroker ?? resolveSettings(dryRunKeys, flags, process.env);
    const transport = withBroker ? transportFrom(withBroker) : undefined;

    return runReplay(flags, transport, {
      db: config.databaseUrl,
      schema: config.schema,
      from,
      to,
      dryRun,
      ...(types.length > 0 ? { types } : {}),
      ...(keys.length > 0 ? { keys } : {}),
      ...(aggregateTypes.length > 0 ? { aggregateTypes } : {}),
      ...(destination !== undefined ? { destination } : {}),
      ...(config.topicPrefix ? { topicPrefix: config.topicPrefix } : {}),
      ...(size !== undefined ? { pageSize: size } : {}),
    });
  },
};

/** --resume: the slice comes from the replay's checkpoint, so slice flags are refused. */
function resume(flags: Record<string, unknown>): Promise<number> {
  const slice = ['from', 'to', 'type', 'key', 'aggregate-type', 'destination', 'dry-run'].filter(
    (f) => flags[f] !== undefined,
  );
  if (slice.length > 0) {
    throw new HeraldError(
      'HERALD_INVALID_CONFIG',
      `--resume: takes the slice of the replay it resumes; drop ${slice.map((f) => `--${f}`).join(', ')}`,
      { details: { setting: '--resume' } },
    );
  }
  const config = resolveSettings(transportKeys, flags, process.env);
  const id = typeof flags['replay-id'] === 'string' ? flags['replay-id'] : undefined;
  const size = pageSize(flags['page-size']);
  return runReplay(flags, transportFrom(config), {
    db: config.databaseUrl,
    schema: config.schema,
    resume: id ?? true,
    ...(size !== undefined ? { pageSize: size } : {}),
  });
}

/** Runs a replay with a progress bar on stderr, stopping after the page in flight on a signal. */
async function runReplay(
  flags: Record<string, unknown>,
  transport: Transport | undefined,
  options: Omit<ReplayOptions, 'transport' | 'signal' | 'onProgress'>,
): Promise<number> {
  const stopper = new AbortController();
  const stop = () => stopper.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const progress = createProgress(process.stderr);
  try {
    const result = await replayEvents({
      ...options,
      signal: stopper.signal,
      ...(transport ? { transport } : {}),
      ...(options.dryRun ? {} : { onProgress: (done: number, total: number) => progress.update(done, total) }),
    });
    progress.finish();
    process.stdout.write(`${flags.json === true ? JSON.stringify(result) : summary(result)}\n`);
    return result.complete ? 0 : 130;
  } finally {
    progress.finish();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await transport?.close().catch(() => {});
  }
}
