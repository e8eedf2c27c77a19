import { HeraldError } from '../errors.ts';
import { quoteIdent, resolveSchema } from './identifiers.ts';

/** The roles to grant to, one per part of Herald; each is optional. */
export interface GrantRoles {
  /** Runs `herald migrate`: creates the schema (so owns it and every table in it). */
  migrator?: string;
  /** Writes events with `outbox.add` in its own transactions. */
  writer?: string;
  /** Runs `createRelay` / `herald relay` (polling source). */
  relay?: string;
  /** Runs `createConsumer`: the inbox, its dead letters and its lag. */
  consumer?: string;
  /** Reads: `herald status`, `herald events`, the admin API's read-only role, /metrics. */
  reader?: string;
}

/**
 * The least SQL privileges each part of Herald needs, as GRANT statements for `schema` (option,
 * else HERALD_SCHEMA, else herald). The migrator's line is run by a superuser (or the database's
 * owner) before `herald migrate`; the others by the migrator after it, since it owns the tables.
 * Every name is checked by the one identifier rule (src/store/identifiers.ts) and quoted.
 *
 * Partition maintenance (the relay's `retentionDays`, the consumer's `inboxRetentionDays`)
 * creates and drops partitions, which PostgreSQL allows only to the tables' owner: least-privilege
 * relays and consumers run with both at 0, and the migrator's role runs one that keeps them.
 */
export function grantsSql(roles: GrantRoles & { schema?: string }): string[] {
  const s = resolveSchema(roles.schema).quoted;
  const role = (name: string, part: string) => quoteIdent(name, `${part} role`);
  const given = Object.entries(roles).filter(([k, v]) => k !== 'schema' && v !== undefined);
  for (const [part, name] of given) role(name as string, part);
  if (given.length === 0) {
    throw new HeraldError(
      'HERALD_INVALID_CONFIG',
      'grants: name at least one role (migrator, writer, relay, consumer, reader)',
      {
        details: { setting: 'roles' },
      },
    );
  }
  const out: string[] = [];
  const on = (privileges: string, tables: string[], to: string) =>
    out.push(`GRANT ${privileges} ON ${tables.map((t) => `${s}.${t}`).join(', ')} TO ${to};`);
  if (roles.migrator) {
    const m = role(roles.migrator, 'migrator');
    // CREATE on the database: the migrator creates the schema, and so owns what is in it.
    out.push(`DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO %s', current_database(), '${m}'); END $$;`);
  }
  const usage = (to: string) => out.push(`GRANT USAGE ON SCHEMA ${s} TO ${to};`);
  if (roles.writer) {
    const w = role(roles.writer, 'writer');
    usage(w);
    on('INSERT', ['log'], w);
  }
  if (roles.relay) {
    const r = role(roles.relay, 'relay');
    usage(r);
    on('SELECT', ['migrations', 'log', 'settings'], r);
    on('SELECT, INSERT, UPDATE', ['cursors', 'leases', 'dead_letters'], r);
    on('SELECT, INSERT, UPDATE, DELETE', ['relays'], r);
  }
  if (roles.consumer) {
    const c = role(roles.consumer, 'consumer');
    usage(c);
    on('SELECT', ['migrations'], c);
    on('SELECT, INSERT', ['inbox'], c);
    on('SELECT, INSERT, UPDATE', ['consumer_dead_letters'], c);
    on('SELECT, INSERT, UPDATE, DELETE', ['consumer_lag'], c);
    // offsets: 'database' (consumer_offsets) and from: 'history' (the history view, rebuilds).
    on('SELECT, INSERT, UPDATE', ['consumer_offsets', 'rebuilds'], c);
    on('SELECT', ['history'], c);
  }
  if (roles.reader) {
    const r = role(roles.reader, 'reader');
    usage(r);
    out.push(`GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${r};`);
  }
  return out;
}
