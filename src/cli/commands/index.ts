import type { Command } from '../command.ts';
import { migrateCommand } from './migrate.ts';
import { relayCommand } from './relay.ts';

/** Every `herald` command, in the order `herald --help` lists them. One file per command. */
export const commands: Record<string, Command> = {
  migrate: migrateCommand,
  relay: relayCommand,
};
