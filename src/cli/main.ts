#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { isHeraldError } from '../errors.ts';
import { commands } from './commands/index.ts';

const usage = `herald <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run \`herald <command> --help\` for a command's options. Settings come from flags or environment
variables (flags win); see docs/cli.md.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage}\n`);
    return name ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`herald: unknown command "${name}"\n\n${usage}\n`);
    return 2;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.positionals ?? false,
      strict: true,
    });
  } catch (error) {
    process.stderr.write(`herald ${name}: ${(error as Error).message}\n\n${command.help()}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${command.help()}\n`);
    return 0;
  }
  try {
    return await command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
  } catch (error) {
    if (isHeraldError(error)) {
      process.stderr.write(`herald ${name}: ${error.code}: ${error.message}\n`);
      return error.code === 'HERALD_INVALID_CONFIG' ? 2 : 1;
    }
    throw error;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
