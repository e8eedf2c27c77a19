import { resolveSettings } from '../../config/settings.ts';
import { HeraldError } from '../../errors.ts';
import { readStream, type StreamSelector } from '../../history/read-stream.ts';
import { type Command, settingOptions, settingsHelp } from '../command.ts';

const eventsKeys = ['databaseUrl', 'schema'] as const;

function selector(flags: Record<string, unknown>): StreamSelector {
  const aggregate = flags.aggregate;
  const key = flags.key;
  if (typeof aggregate === 'string' && typeof key !== 'string') {
    const slash = aggregate.indexOf('/');
    if (slash > 0 && slash < aggregate.length - 1) {
      return { aggregateType: aggregate.slice(0, slash), aggregateId: aggregate.slice(slash + 1) };
    }
  } else if (typeof key === 'string' && typeof aggregate !== 'string') {
    return { key };
  }
  throw new HeraldError('HERALD_INVALID_CONFIG', 'give one of --aggregate <type>/<id> or --key <partition key>', {
    details: { setting: 'aggregate' },
  });
}

export const eventsCommand: Command = {
  summary: "Print one entity's events from the log, in the order they were written (--aggregate type/id or --key K)",
  options: {
    ...settingOptions(eventsKeys),
    aggregate: { type: 'string' },
    key: { type: 'string' },
    after: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  },
  help: () =>
    `herald events (--aggregate <type>/<id> | --key <key>) [--after <position>] [--limit N] [--json] [options]

Reads the log (events are kept for retentionDays), oldest first, a page of --limit (default 100).
The last line names the position to pass as --after for the next page. --json prints one event
per line, then {"next": position|null}.

${settingsHelp(eventsKeys)}`,
  async run(flags) {
    const config = resolveSettings(eventsKeys, flags, process.env);
    const limit = typeof flags.limit === 'string' ? Number(flags.limit) : undefined;
    const page = await readStream(selector(flags), {
      db: config.databaseUrl,
      schema: config.schema,
      ...(typeof flags.after === 'string' ? { after: flags.after } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
    const out = process.stdout;
    if (flags.json === true) {
      for (const e of page.events) out.write(`${JSON.stringify(e)}\n`);
      out.write(`${JSON.stringify({ next: page.next })}\n`);
      return 0;
    }
    for (const e of page.events) {
      out.write(`${e.time.toISOString()}  ${e.type} v${e.version}  ${e.id}  ${JSON.stringify(e.payload)}\n`);
    }
    out.write(page.next === null ? `${page.events.length} events, the last page\n` : `more: --after ${page.next}\n`);
    return 0;
  },
};
