import { resolveSettings } from '../../config/settings.ts';
import { parseTime } from '../../config/time.ts';
import type { ConsumerDeadLetterFilter } from '../../deadletters/consumer-dead-letters.ts';
import { createDeadLetters, type DeadLetterFilter, type FailedEvent } from '../../deadletters/dead-letters.ts';
import { HeraldError } from '../../errors.ts';
import type { DeadLetterSelection } from '../../store/sql/filter.ts';
import { type Command, settingOptions, settingsHelp } from '../command.ts';
import { transportFrom, transportKeys } from '../transport.ts';
import { consumerDeadLetterHelp, runConsumerDlq } from './dlq-consumers.ts';

const keys = transportKeys;
const actions = ['list', 'show', 'retry', 'discard'] as const;
type Action = (typeof actions)[number];

const usage = `herald dlq <list|show|retry|discard> [ids...] [filters] [--group G] [--json]

  list                 dead letters (pending unless --status), oldest first
  show <id>            one dead letter with its payload, headers and error
  retry <id...>        publish again, in log order, and record each outcome
  discard <id...>      mark as discarded (kept for the record, never published)
  retry and discard also take filters instead of ids (at least one is required)

${consumerDeadLetterHelp}

Filters:
  --type T             event type (repeat or comma-separate)
  --key K              partition key (repeat for several)
  --error TEXT         substring of the error code or message
  --since TIME         failed at or after (ISO 8601, or 30m, 2h, 7d ago)
  --until TIME         failed before
  --status S           pending (default), retried, discarded or all; with --group also retrying
  --limit N            at most N (default 100 for list, 10000 otherwise)`;

/** Repeated flags; comma lists too, except for keys (a partition key may hold a comma). */
function list(value: unknown, split = true): string[] | undefined {
  const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
  const parts = values
    .flatMap((v) => (split ? v.split(',') : [v]))
    .map((v) => v.trim())
    .filter(Boolean);
  return parts.length > 0 ? parts : undefined;
}

const relayStatuses = ['pending', 'retried', 'discarded', 'all'];
const consumerStatuses = ['pending', 'retrying', 'retried', 'discarded', 'all'];

/** The selection the filter flags make; consumer dead letters (`--group`) have one more status. */
function filterFrom(flags: Record<string, unknown>, ids: string[], statuses = relayStatuses): DeadLetterSelection {
  const status = flags.status as string | undefined;
  if (status !== undefined && !statuses.includes(status)) {
    const names = `${statuses.slice(0, -1).join(', ')} or ${statuses.at(-1)}`;
    throw new HeraldError('HERALD_INVALID_CONFIG', `--status: "${status}" must be ${names}`);
  }
  const limit = flags.limit === undefined ? undefined : Number(flags.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new HeraldError('HERALD_INVALID_CONFIG', `--limit: "${String(flags.limit)}" must be a positive integer`);
  }
  const filter: DeadLetterSelection = {};
  if (ids.length > 0) filter.ids = ids;
  const types = list(flags.type);
  if (types) filter.types = types;
  const keysFilter = list(flags.key, false);
  if (keysFilter) filter.keys = keysFilter;
  if (typeof flags.error === 'string') filter.error = flags.error;
  if (typeof flags.since === 'string') filter.since = parseTime(flags.since, '--since');
  if (typeof flags.until === 'string') filter.until = parseTime(flags.until, '--until');
  if (status) filter.status = status;
  if (limit !== undefined) filter.limit = limit;
  return filter;
}

function line(e: FailedEvent): string {
  return `${e.id}  ${e.failedAt.toISOString()}  ${e.type}  key=${e.partitionKey}  ${e.status}  attempts=${e.attempts}  ${e.error.code}: ${e.error.message}`;
}

export const dlqCommand: Command = {
  summary: "List, show, retry or discard dead letters: the relay's, or a consumer group's (--group)",
  positionals: true,
  options: {
    ...settingOptions(keys),
    type: { type: 'string', multiple: true },
    key: { type: 'string', multiple: true },
    error: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    status: { type: 'string' },
    limit: { type: 'string' },
    group: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  },
  help: () =>
    `${usage}\n\n${settingsHelp(keys)}\n  (--brokers is needed by the relay's retry only, never with --group)`,
  async run(flags, positionals) {
    const [action, ...ids] = positionals;
    if (!actions.includes(action as Action)) {
      throw new HeraldError(
        'HERALD_INVALID_CONFIG',
        `dlq: expected list, show, retry or discard, got ${JSON.stringify(action ?? '')}`,
      );
    }
    const groups = list(flags.group);
    if (flags.group !== undefined && !groups) {
      // `--group "$GROUP"` with GROUP unset must not fall through to the relay's dead letters.
      throw new HeraldError('HERALD_INVALID_CONFIG', '--group: needs a consumer group name');
    }
    if (groups) {
      const filter = filterFrom(flags, ids, consumerStatuses) as ConsumerDeadLetterFilter;
      return runConsumerDlq(action as Action, ids, { ...filter, groups }, flags);
    }
    const needsBroker = action === 'retry';
    const withBroker = needsBroker ? resolveSettings(keys, flags, process.env) : undefined;
    const config = withBroker ?? resolveSettings(['databaseUrl', 'schema'] as const, flags, process.env);
    const transport = withBroker ? transportFrom(withBroker) : undefined;
    const dlq = createDeadLetters({
      db: config.databaseUrl,
      schema: config.schema,
      ...(transport ? { transport } : {}),
    });
    const json = flags.json === true;
    const out = (text: string) => process.stdout.write(`${text}\n`);
    try {
      const filter = filterFrom(flags, ids) as DeadLetterFilter;
      if (action === 'list') {
        const events = await dlq.list(filter);
        if (json) for (const e of events) out(JSON.stringify(e));
        else if (events.length === 0) out('no dead letters match');
        else for (const e of events) out(line(e));
        return 0;
      }
      if (action === 'show') {
        if (ids.length !== 1) throw new HeraldError('HERALD_INVALID_CONFIG', 'dlq show takes exactly one id');
        const event = await dlq.get(ids[0] as string);
        if (!event) {
          process.stderr.write(`herald dlq: no dead letter ${ids[0]}\n`);
          return 1;
        }
        out(json ? JSON.stringify(event) : JSON.stringify(event, null, 2));
        return 0;
      }
      if (action === 'retry') {
        const results = await dlq.retry(filter);
        for (const r of results) {
          out(
            json
              ? JSON.stringify(r)
              : `${r.id}  ${r.ok ? 'published' : `failed again: ${r.error?.code}: ${r.error?.message}`}`,
          );
        }
        if (!json) out(`${results.filter((r) => r.ok).length} of ${results.length} published again`);
        return results.every((r) => r.ok) ? 0 : 1;
      }
      const discarded = await dlq.discard(filter);
      out(json ? JSON.stringify({ discarded }) : `${discarded} discarded`);
      return 0;
    } finally {
      await dlq.close();
      await transport?.close();
    }
  },
};
