// PostgreSQL's logical decoding alone, the floor under the CDC comparison's walsender figures:
// the server CPU to decode one event from the WAL and encode it with pgoutput, for each way of
// writing it: Herald's log row, Herald's table-less message (pg_logical_emit_message), and
// Debezium's outbox row. Events are written one per transaction, as in the relay bench's steady
// phase; then one backend reads them all from a fresh slot with pg_logical_slot_get_binary_changes
// (the walsender's decoding and output, without its wake-ups, network and replies).
import pg from 'pg';
import { migrate } from '../src/index.ts';
import { ensurePublication, replicationNames } from '../src/store/replication.ts';
import { cpuOf, processName } from './cpu.ts';
import { debeziumTableSql, debeziumWriter } from './debezium-system.ts';
import { heraldWriter } from './herald-system.ts';
import { makePayload } from './payload.ts';
import { progress } from './stats.ts';
import type { Writer } from './system.ts';
import { uniqueName } from './topic.ts';

export const decodeVariants = ['herald', 'table-less', 'debezium'] as const;
export type DecodeVariant = (typeof decodeVariants)[number];

export interface DecodeBenchOptions {
  events: number;
  rounds: number;
  variants: readonly DecodeVariant[];
  json: boolean | undefined;
}

export interface DecodeResult {
  variant: DecodeVariant;
  round: number;
  events: number;
  /** WAL written per event (the transaction's commit record included). */
  walBytesPerEvent: number;
  /** pgoutput's output per event (begin, the change or message, commit). */
  outputBytesPerEvent: number;
  /** The reading backend's CPU per 10,000 events, and the read's wall time per event. */
  cpuSecPer10k: number | null;
  usPerEvent: number;
}

/** One round of one variant: a slot made, the events written, then read and the slot dropped. */
async function decodeOnce(
  pool: pg.Pool,
  variant: DecodeVariant,
  round: number,
  events: number,
  ways: Record<DecodeVariant, { writer: Writer; publication: string }>,
  slot: string,
): Promise<DecodeResult> {
  const { writer, publication } = ways[variant];
  // A temporary slot, on the client that reads it: an interrupted run leaves nothing holding WAL.
  const client = await pool.connect();
  try {
    await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput', true)`, [slot]);
    try {
      for (let n = 0; n < events; n++) await writer.commit([makePayload(n)]);
      const wal = await client.query<{ bytes: string }>(
        `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), confirmed_flush_lsn)::text AS bytes
FROM pg_replication_slots WHERE slot_name = $1`,
        [slot],
      );
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? -1;
      // A server on another machine: that pid is not a process here, and the CPU is not measured.
      const local = processName(pid)?.startsWith('postgres') === true;
      const cpuBefore = local ? cpuOf(pid) : null;
      const started = performance.now();
      const read = await client.query<{ bytes: string }>(
        `SELECT coalesce(sum(length(data)), 0)::text AS bytes FROM pg_logical_slot_get_binary_changes($1, NULL, NULL,
  'proto_version', '1', 'publication_names', $2, 'messages', 'true')`,
        [slot, publication],
      );
      const ms = performance.now() - started;
      const cpuAfter = local ? cpuOf(pid) : null;
      return {
        variant,
        round,
        events,
        walBytesPerEvent: Math.round(Number(wal.rows[0]?.bytes ?? 0) / events),
        outputBytesPerEvent: Math.round(Number(read.rows[0]?.bytes ?? 0) / events),
        cpuSecPer10k:
          cpuBefore === null || cpuAfter === null
            ? null
            : Math.round(((cpuAfter - cpuBefore) / events) * 10_000 * 1000) / 1000,
        usPerEvent: Math.round((ms * 1000 * 10) / events) / 10,
      };
    } finally {
      await client.query('SELECT pg_drop_replication_slot($1)', [slot]).catch(() => {});
    }
  } finally {
    client.release();
  }
}

/** Every variant in turn, `rounds` times; one JSON line per variant and round with --json. */
export async function decodeBench(options: DecodeBenchOptions, databaseUrl: string): Promise<DecodeResult[]> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const schema = uniqueName('herald_decode');
  const dschema = `${schema}_dbz`;
  // Table-less writes need a slot named for their schema: every variant reads through that name.
  const { slot, publication } = replicationNames(schema);
  const results: DecodeResult[] = [];
  try {
    await migrate(pool, { schema });
    await ensurePublication(pool, schema);
    await pool.query(debeziumTableSql(`"${dschema}"`));
    await pool.query(`CREATE PUBLICATION "${dschema}" FOR TABLE "${dschema}".outbox`);
    // No autovacuum of one variant's rows in the WAL that the next variant's slot reads.
    const tables = await pool.query<{ name: string }>(
      `SELECT relid::regclass::text AS name FROM pg_partition_tree($1::regclass) WHERE isleaf
UNION ALL SELECT $2`,
      [`"${schema}".log`, `"${dschema}".outbox`],
    );
    for (const t of tables.rows) await pool.query(`ALTER TABLE ${t.name} SET (autovacuum_enabled = false)`);
    const ways: Record<DecodeVariant, { writer: Writer; publication: string }> = {
      herald: { writer: heraldWriter(pool, schema, 'decode', 'log'), publication },
      'table-less': { writer: heraldWriter(pool, schema, 'decode', 'wal'), publication },
      debezium: { writer: debeziumWriter(pool, dschema), publication: dschema },
    };
    for (let round = 1; round <= options.rounds; round++) {
      for (const variant of options.variants) {
        progress(`decode: ${variant}, round ${round}: ${options.events} events, one per transaction`);
        const result = await decodeOnce(pool, variant, round, options.events, ways, slot);
        results.push(result);
        if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else
          process.stdout.write(
            `${variant.padEnd(10)} round ${round}: ${result.usPerEvent} µs/event, ${result.cpuSecPer10k ?? '-'} CPU s/10k, WAL ${result.walBytesPerEvent} B, output ${result.outputBytesPerEvent} B per event\n`,
          );
      }
    }
  } finally {
    await pool.query(`DROP PUBLICATION IF EXISTS "${publication}"`).catch(() => {});
    await pool.query(`DROP PUBLICATION IF EXISTS "${dschema}"`).catch(() => {});
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await pool.query(`DROP SCHEMA IF EXISTS "${dschema}" CASCADE`).catch(() => {});
    await pool.end();
  }
  return results;
}
