/** What selects dead letters, relay's or consumers': every field narrows the selection. */
export interface DeadLetterSelection {
  ids?: string[];
  types?: string[];
  keys?: string[];
  /** Substring of the error code or message, case-insensitive. */
  error?: string;
  since?: Date;
  until?: Date;
  /** Default: pending only. */
  status?: string;
  limit?: number;
}

/**
 * The WHERE clause of a selection, with its parameters; values are always bound, never pasted.
 * `columns` names the id, type and key columns of the table (fixed strings of this code).
 */
export function selectionWhere(
  filter: DeadLetterSelection & { groups?: string[] },
  columns: { id: string; idType: 'uuid' | 'text'; type: string; key: string },
): { sql: string; values: unknown[] } {
  const clauses: string[] = [];
  const values: unknown[] = [];
  const add = (clause: (p: string) => string, value: unknown) => {
    values.push(value);
    clauses.push(clause(`$${values.length}`));
  };
  const status = filter.status ?? 'pending';
  if (status !== 'all') add((p) => `status = ${p}`, status);
  if (filter.groups?.length) add((p) => `consumer_group = ANY(${p}::text[])`, filter.groups);
  if (filter.ids?.length) add((p) => `${columns.id} = ANY(${p}::${columns.idType}[])`, filter.ids);
  if (filter.types?.length) add((p) => `${columns.type} = ANY(${p}::text[])`, filter.types);
  if (filter.keys?.length) add((p) => `${columns.key} = ANY(${p}::text[])`, filter.keys);
  if (filter.error) add((p) => `(error_code ILIKE ${p} OR error_message ILIKE ${p})`, `%${filter.error}%`);
  if (filter.since) add((p) => `failed_at >= ${p}`, filter.since);
  if (filter.until) add((p) => `failed_at < ${p}`, filter.until);
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', values };
}

/** True when a selection names something: retry and discard never act on everything by accident. */
export function hasSelection(filter: DeadLetterSelection & { groups?: string[] }): boolean {
  return Boolean(
    filter.ids?.length || filter.types?.length || filter.keys?.length || filter.error || filter.since || filter.until,
  );
}

/** What a dead letter's row says of its failure, in both tables: why, how often, when, and what became of it. */
export interface FailureRow<S> {
  error_code: string;
  error_message: string;
  attempts: number;
  first_failed_at: Date;
  failed_at: Date;
  status: S;
  resolved_at: Date | null;
  retry_error: string | null;
}
