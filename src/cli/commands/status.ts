import { resolveSettings } from '../../config/settings.ts';
import { HeraldError } from '../../errors.ts';
import { formatStatus } from '../../status/format.ts';
import { defaultThresholds, getStatus, type StatusThresholds } from '../../status/status.ts';
import { type Command, settingOptions, settingsHelp } from '../command.ts';

const statusKeys = ['databaseUrl', 'schema'] as const;

/** Threshold flags: this command's own, so they are not shared settings with environment variables. */
const thresholdFlags: [flag: string, key: keyof StatusThresholds, meaning: string][] = [
  ['max-lag-seconds', 'maxLagSeconds', 'oldest unpublished event may be this old'],
  ['max-dead-letters', 'maxDeadLetters', "pending dead letters allowed, the relay's and consumers' together"],
  ['max-transaction-seconds', 'maxTransactionSeconds', 'an open transaction holding back events may be this old'],
  ['max-consumer-lag', 'maxConsumerLag', 'messages a consumer group may be behind, as it last measured'],
];

function thresholds(flags: Record<string, unknown>): Partial<StatusThresholds> {
  const out: Partial<StatusThresholds> = {};
  for (const [flag, key] of thresholdFlags) {
    const raw = flags[flag];
    if (typeof raw !== 'string') continue;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < 0) {
      throw new HeraldError('HERALD_INVALID_CONFIG', `--${flag}: ${JSON.stringify(raw)} must be a number >= 0`, {
        details: { setting: flag },
      });
    }
    out[key] = n;
  }
  return out;
}

/** Aligned with settingsHelp's columns; these flags have no environment variable. */
const flagLine = (flag: string, meaning: string) => `  --${flag.padEnd(43)} ${meaning}`;

export const statusCommand: Command = {
  summary: 'Report the backlog per shard, lag, events/s, dead letters, what holds publishing back, consumer lag',
  options: {
    ...settingOptions(statusKeys),
    json: { type: 'boolean' },
    check: { type: 'boolean' },
    ...Object.fromEntries(thresholdFlags.map(([flag]) => [flag, { type: 'string' as const }])),
  },
  help: () =>
    `herald status [--json] [--check] [options]

Reads the database only (no relay or broker needed) and prints a report; --json prints one JSON
object instead. Consumer groups are shown with the lag their consumers last stored (they store it
every few seconds) and their dead letters. Exit code 0 whatever the findings, unless --check is
given: then 1 when unhealthy (for scripts and health probes). See docs/status.md.

${[
  flagLine('json', 'one JSON object, listing every shard, instead of the report'),
  flagLine('check', 'exit 1 when unhealthy'),
  ...thresholdFlags.map(([flag, key, meaning]) =>
    flagLine(`${flag} <n>`, `${meaning} (default ${defaultThresholds[key] ?? 'none: not checked'})`),
  ),
].join('\n')}

${settingsHelp(statusKeys)}`,
  async run(flags) {
    const config = resolveSettings(statusKeys, flags, process.env);
    const status = await getStatus({ db: config.databaseUrl, schema: config.schema, ...thresholds(flags) });
    process.stdout.write(flags.json === true ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
    return flags.check === true && !status.healthy ? 1 : 0;
  },
};
