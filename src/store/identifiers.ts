import { checkIdentifier } from '../config/names.ts';
import { settingFromEnv } from '../config/settings.ts';

/**
 * The one place where an identifier becomes SQL text: the name is checked (lower-case letters,
 * digits and underscores; see config/names.ts) and double-quoted.
 */
export function quoteIdent(name: string, what = 'schema'): string {
  return `"${checkIdentifier(name, what)}"`;
}

/** A herald schema: its name, and the name quoted for SQL. */
export interface Schema {
  name: string;
  quoted: string;
}

/**
 * The herald schema an entry point works in: the `schema` option, else `HERALD_SCHEMA`, else
 * `herald`; checked and quoted once. Every factory and function that touches Herald's tables
 * resolves its schema here, so that one environment variable moves all of them together.
 */
export function resolveSchema(option?: string): Schema {
  const name = option ?? settingFromEnv('schema') ?? 'herald';
  return { name, quoted: quoteIdent(name) };
}
