import { resolveSettings } from '../../config/settings.ts';
import {
  type ConsumerDeadLetter,
  type ConsumerDeadLetterFilter,
  type ConsumerDeadLetters,
  createConsumerDeadLetters,
} from '../../deadletters/consumer-dead-letters.ts';
import { HeraldError } from '../../errors.ts';
import { formatCount, formatSeconds } from '../../status/format.ts';
import { openPool, type PoolLike, toDatabaseError } from '../../store/connect.ts';
import { readLag } from '../../store/sql/consumer-lag.ts';
import { hasSelection } from '../../store/sql/filter.ts';

// `herald dlq ... --group G`: the dead letters of consumer groups rather than the relay's. Only
// the database is needed: retrying marks them, and the group's running consumers re-deliver them.

export const consumerDeadLetterHelp = `With --group, the dead letters of consumer groups (messages a group gave up on) instead:
  --group G            consumer group (repeat or comma-separate); show takes exactly one
  list, discard        as above; list shows group, type, topic[partition]@offset and status
  retry                marks them for re-delivery (status retrying): a running consumer of the
                       group handles each again within its redeliveryPollMs, then sets retried,
                       or pending with retry_error; no broker is needed, nothing is published`;

/** A consumer may store no lag for this long and still count as running (it stores it every 5 s). */
const recentLagMs = 60_000;

function line(d: ConsumerDeadLetter): string {
  const retry = d.retryError ? `  (retry failed: ${d.retryError})` : '';
  return `${d.id}  ${d.failedAt.toISOString()}  ${d.group}  ${d.type ?? '-'}  ${d.topic}[${d.partition}]@${d.offset}  ${d.status}  attempts=${d.attempts}  ${d.error.code}: ${d.error.message}${retry}`;
}

/**
 * Retry or discard what the filter selects, at most `limit` (default 10 000, as for the relay's
 * dead letters): listed first, then marked by id per group. Returns how many each group had marked.
 */
async function mark(
  letters: ConsumerDeadLetters,
  action: 'retry' | 'discard',
  filter: ConsumerDeadLetterFilter,
): Promise<Map<string, number>> {
  if (!hasSelection(filter)) {
    // The group alone is no selection: never a whole group by accident.
    throw new HeraldError('HERALD_INVALID_CONFIG', `${action} needs ids or a filter (type, key, error, since, until)`, {
      details: { setting: 'filter' },
    });
  }
  const rows = await letters.list({ ...filter, limit: filter.limit ?? 10_000 });
  const byGroup = new Map<string, string[]>();
  for (const row of rows) byGroup.set(row.group, [...(byGroup.get(row.group) ?? []), row.id]);
  const marked = new Map<string, number>();
  for (const [group, ids] of byGroup) {
    // Fewer than listed when some changed status meanwhile (a consumer resolved them).
    const n = await letters[action]({ groups: [group], ids, status: filter.status ?? 'pending' });
    if (n > 0) marked.set(group, n);
  }
  return marked;
}

/** Groups none of whose consumers stored its lag lately: the dead letters marked may wait for one. */
async function quietGroups(pool: PoolLike, schema: string, groups: string[]): Promise<string[]> {
  const lag = await readLag(pool, schema);
  return groups.filter((g) => !lag.some((l) => l.group === g && Date.now() - l.measuredAt.getTime() <= recentLagMs));
}

export async function runConsumerDlq(
  action: 'list' | 'show' | 'retry' | 'discard',
  ids: string[],
  filter: ConsumerDeadLetterFilter & { groups: string[] },
  flags: Record<string, unknown>,
): Promise<number> {
  const { groups } = filter;
  if (action === 'show' && groups.length !== 1) {
    throw new HeraldError('HERALD_INVALID_CONFIG', 'dlq show --group takes exactly one group');
  }
  if (action === 'show' && ids.length !== 1)
    throw new HeraldError('HERALD_INVALID_CONFIG', 'dlq show takes exactly one id');
  const config = resolveSettings(['databaseUrl', 'schema'] as const, flags, process.env);
  const { pool, target } = openPool(config.databaseUrl, 2);
  const letters = createConsumerDeadLetters({ db: pool, schema: config.schema });
  const json = flags.json === true;
  const out = (text: string) => process.stdout.write(`${text}\n`);
  try {
    if (action === 'list') {
      const found = await letters.list(filter);
      if (json) for (const d of found) out(JSON.stringify(d));
      else if (found.length === 0) out(`no dead letters of ${groups.join(', ')} match`);
      else for (const d of found) out(line(d));
      return 0;
    }
    if (action === 'show') {
      const [group, id] = [groups[0] as string, ids[0] as string];
      const found = await letters.get(group, id);
      if (!found) {
        process.stderr.write(`herald dlq: no dead letter ${id} in group ${group}\n`);
        return 1;
      }
      out(json ? JSON.stringify(found) : JSON.stringify(found, null, 2));
      return 0;
    }
    const marked = await mark(letters, action, filter);
    const total = [...marked.values()].reduce((n, m) => n + m, 0);
    if (action === 'discard') {
      out(json ? JSON.stringify({ discarded: total }) : `${total} discarded`);
      return 0;
    }
    if (json) out(JSON.stringify({ marked: total }));
    else if (total === 0) out('0 marked for retry: no dead letter matches');
    else {
      const names = [...marked.keys()];
      const whose = names.length === 1 ? `group ${names[0]}` : `each group (${names.join(', ')})`;
      out(
        `${formatCount(total, 'dead letter')} marked for retry: a running consumer of ${whose} handles each again, ` +
          'then sets it to retried, or back to pending with retry_error (`herald dlq list --group G --status all`)',
      );
    }
    const quiet = await quietGroups(pool, config.schema, [...marked.keys()]).catch((error: unknown) => {
      throw toDatabaseError(error, target);
    });
    for (const g of quiet) {
      process.stderr.write(
        `herald dlq: no consumer of group ${g} stored its lag in the last ${formatSeconds(recentLagMs / 1000)}: ` +
          'if none is running, its dead letters stay retrying until one starts\n',
      );
    }
    return 0;
  } finally {
    await letters.close();
    await pool.end?.().catch(() => {});
  }
}
