import { resolveSettings } from '../../config/settings.ts';
import { HeraldError, isHeraldError } from '../../errors.ts';
import { type GrantRoles, grantsSql } from '../../store/grants.ts';
import { type Command, settingOptions, settingsHelp } from '../command.ts';

const grantsKeys = ['schema'] as const;
const parts: [flag: keyof GrantRoles, meaning: string][] = [
  ['migrator', 'runs herald migrate (creates the schema, so owns its tables)'],
  ['writer', 'writes events with outbox.add'],
  ['relay', 'runs herald relay / createRelay'],
  ['consumer', 'runs createConsumer (the inbox, its dead letters and lag)'],
  ['reader', 'herald status, herald events, the read-only admin API, /metrics'],
];

export const grantsCommand: Command = {
  summary: 'Print the least SQL grants each part of Herald needs, for the roles you name (connects nowhere)',
  options: {
    ...settingOptions(grantsKeys),
    ...Object.fromEntries(parts.map(([flag]) => [flag, { type: 'string' as const }])),
  },
  help: () =>
    `herald grants [--migrator ROLE] [--writer ROLE] [--relay ROLE] [--consumer ROLE] [--reader ROLE] [options]

Prints GRANT statements, one per line, for the roles named (at least one). Run the migrator's as a
superuser before herald migrate, the others as the migrator after it (it owns the tables), e.g.
  herald grants --writer app --relay herald_relay | psql "$DATABASE_URL"
Least-privilege relays and consumers run with retentionDays and inboxRetentionDays at 0: partition
upkeep is the tables' owner's. Roles follow the one name rule (lower-case letters, digits, _). See
docs/security.md.

${parts.map(([flag, meaning]) => `  --${flag.padEnd(18)} ${''.padEnd(24)} the role that ${meaning}`).join('\n')}
${settingsHelp(grantsKeys)}`,
  async run(flags) {
    const { schema } = resolveSettings(grantsKeys, flags, process.env);
    const roles: GrantRoles = {};
    for (const [flag] of parts) if (typeof flags[flag] === 'string') roles[flag] = flags[flag] as string;
    let sql: string[];
    try {
      sql = grantsSql({ ...roles, schema });
    } catch (error) {
      if (!isHeraldError(error, 'HERALD_INVALID_IDENTIFIER')) throw error;
      const part = String((error.details as { what?: string }).what ?? 'role').replace(/ role$/, '');
      throw new HeraldError('HERALD_INVALID_CONFIG', `--${part}: ${error.message}`, { details: { setting: part } });
    }
    process.stdout.write(`${sql.join('\n')}\n`);
    return 0;
  },
};
