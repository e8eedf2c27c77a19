import type { Queryable } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';

/**
 * The shape of an error message: ids, numbers and quoted text replaced, so that "offset 41 of
 * topic 'a'" and "offset 97 of topic 'b'" are one failure. A fixed SQL expression of this code.
 */
const shape = (column: string) =>
  `regexp_replace(regexp_replace(regexp_replace(${column},
  '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<id>', 'g'),
  '("[^"]*"|''[^'']*'')', '<text>', 'g'),
  '[0-9]+', '<n>', 'g')`;

export interface DeadLetterGroupRow {
  /** Null for the relay's dead letters, the group's name for a consumer group's. */
  consumer_group: string | null;
  type: string | null;
  error_code: string;
  shape: string;
  /** The newest message of the group as it was. */
  example: string;
  count: number;
  oldest: Date;
  newest: Date;
  /** The ids of the group's dead letters, oldest first, at most `idsPerGroup`. */
  ids: string[];
}

/**
 * Pending dead letters, the relay's and every consumer group's, grouped by failure: the same
 * type, error code and message shape. Largest groups first.
 */
export async function groupDeadLetters(
  db: Queryable,
  schema: string,
  limit: number,
  idsPerGroup: number,
): Promise<DeadLetterGroupRow[]> {
  const s = quoteIdent(schema);
  const result = await db.query<DeadLetterGroupRow>(
    `SELECT * FROM (
  SELECT NULL::text AS consumer_group, d.type, d.error_code, ${shape('d.error_message')} AS shape,
    (array_agg(d.error_message ORDER BY d.failed_at DESC))[1] AS example, count(*)::float8 AS count,
    min(d.first_failed_at) AS oldest, max(d.failed_at) AS newest,
    (array_agg(d.id::text ORDER BY d.failed_at, d.id))[1:$2] AS ids
  FROM ${s}.dead_letters d WHERE d.status = 'pending'
  GROUP BY 2, 3, 4
  UNION ALL
  SELECT d.consumer_group, d.event_type, d.error_code, ${shape('d.error_message')},
    (array_agg(d.error_message ORDER BY d.failed_at DESC))[1], count(*)::float8,
    min(d.first_failed_at), max(d.failed_at),
    (array_agg(d.message_id ORDER BY d.failed_at, d.message_id))[1:$2]
  FROM ${s}.consumer_dead_letters d WHERE d.status = 'pending'
  GROUP BY 1, 2, 3, 4
) g
ORDER BY g.count DESC, g.consumer_group NULLS FIRST, g.type, g.error_code, g.shape
LIMIT $1`,
    [limit, idsPerGroup],
  );
  return result.rows;
}
