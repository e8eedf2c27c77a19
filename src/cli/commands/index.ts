import type { Command } from '../command.ts';
import { dashboardCommand } from './dashboard.ts';
import { dlqCommand } from './dlq.ts';
import { eventsCommand } from './events.ts';
import { grantsCommand } from './grants.ts';
import { migrateCommand } from './migrate.ts';
import { relayCommand } from './relay.ts';
import { replayCommand } from './replay.ts';
import { schemaCommand } from './schema.ts';
import { statusCommand } from './status.ts';

/** Every `herald` command, in the order `herald --help` lists them. One file per command. */
export const commands: Record<string, Command> = {
  migrate: migrateCommand,
  relay: relayCommand,
  status: statusCommand,
  replay: replayCommand,
  dlq: dlqCommand,
  events: eventsCommand,
  schema: schemaCommand,
  dashboard: dashboardCommand,
  grants: grantsCommand,
};
