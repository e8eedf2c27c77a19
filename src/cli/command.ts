import type { ParseArgsOptionsConfig } from 'node:util';
import { settings } from '../config/settings.ts';

export interface Command {
  summary: string;
  options: ParseArgsOptionsConfig;
  help(): string;
  /** Whether the command takes positional arguments (e.g. `herald dlq show <id>`). */
  positionals?: boolean;
  run(
    flags: Record<string, string | boolean | (string | boolean)[] | undefined>,
    positionals: string[],
  ): Promise<number>;
}

export type SettingKey = keyof typeof settings;

export function settingOptions(keys: readonly SettingKey[]): ParseArgsOptionsConfig {
  return Object.fromEntries(keys.map((k) => [settings[k].flag, { type: 'string' as const }]));
}

export function settingsHelp(keys: readonly SettingKey[]): string {
  return keys
    .map((k) => {
      const s = settings[k] as {
        flag: string;
        env: string;
        description: string;
        required?: boolean;
        default?: unknown;
      };
      const extra = s.required ? ' (required)' : s.default !== undefined ? ` (default ${String(s.default)})` : '';
      return `  --${s.flag.padEnd(18)} ${s.env.padEnd(24)} ${s.description}${extra}`;
    })
    .join('\n');
}
