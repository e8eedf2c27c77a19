// `npm run bench -- write`: what `outbox.add` costs the business transaction that calls it.
// Writers commit transactions that insert one business row of `payloadBytes`, alone (plain) or
// with something more: an INSERT into a bare table (the floor of any table outbox), a
// pg_logical_emit_message (the floor of a table-less outbox), or Herald's outbox.add. Every
// variant runs in the same process on the same database, and plain runs before and after the
// others, so the overhead is measured against the machine as it was during the run.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { uuidv7 } from '../src/events/uuidv7.ts';
import { createOutbox, defineEvent, migrate } from '../src/index.ts';
import { quoteIdent } from '../src/store/identifiers.ts';
import { dropReplication, ensurePublication, ensureSlot } from '../src/store/replication.ts';
import { insertEvents } from '../src/store/sql/insert-events.ts';
import { type CpuProbe, cpuProbe, per10k } from './cpu.ts';
import { round } from './stats.ts';
import { uniqueName } from './topic.ts';
import { anatomyVariants } from './write-anatomy.ts';

export interface WriteBenchOptions {
  writers: number;
  payloadBytes: number;
  seconds: number;
  /** Rounds of every variant; the figures are each variant's median round. */
  rounds: number;
  variants: readonly string[];
  json: boolean;
}

/** What a variant adds to the business transaction, on one connection inside BEGIN … COMMIT. */
export type Extra = (client: pg.PoolClient, body: string) => Promise<unknown>;

export interface Variant {
  name: string;
  describe: string;
  /** Tables or objects the variant needs, created once before the run. */
  setup?: (admin: pg.Pool) => Promise<void>;
  extra: Extra | null;
}

export interface WriteResult {
  variant: string;
  txPerSec: number;
  overheadPct: number;
  rounds: number[];
  /** The writers' thread's CPU per transaction (median round), µs: validation, encoding, sockets. */
  clientCpuUsPerTx: number | null;
  /** The server's CPU per transaction (median round), µs: every PostgreSQL process; null where unreadable. */
  serverCpuUsPerTx: number | null;
}

/** One run of one variant: transactions a second and what each cost the writers and the server. */
interface Measured {
  tps: number;
  clientUs: number | null;
  serverUs: number | null;
}

export const defaultVariants = ['plain', 'floor-table', 'floor-emit', 'herald', 'herald-wal'];

function coreVariants(schema: string): Variant[] {
  const s = quoteIdent(schema);
  const Event = defineEvent({
    type: 'bench.order.placed',
    version: 1,
    destination: 'bench-write',
    schema: z.object({ orderId: z.string(), body: z.string() }),
    key: (p) => p.orderId,
  });
  const outbox = createOutbox({ schema, source: '/herald-bench' });
  const walOutbox = createOutbox({ schema, source: '/herald-bench', mode: 'wal' });
  return [
    { name: 'plain', describe: 'the business row alone', extra: null },
    {
      name: 'floor-table',
      describe: 'one INSERT into a bare table (id uuid primary key, payload jsonb)',
      setup: async (admin) => {
        await admin.query(`CREATE TABLE ${s}.floor (id uuid PRIMARY KEY, payload jsonb NOT NULL)`);
      },
      extra: (client, body) =>
        client.query({
          name: `bench_floor_${schema}`,
          text: `INSERT INTO ${s}.floor (id, payload) VALUES ($1, $2)`,
          values: [randomUUID(), JSON.stringify({ orderId: randomUUID(), body })],
        }),
    },
    {
      // What an outbox read in commit order cannot do without: the writer's transaction id and a
      // sequence as its key, and the shard of the event's key; no envelope, no partitions.
      name: 'floor-log',
      describe: 'one INSERT into the narrowest ordered log: key (xid, seq), shard, id, payload',
      setup: async (admin) => {
        await admin.query(`CREATE TABLE ${s}.floor_log (xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  seq bigint GENERATED ALWAYS AS IDENTITY, id uuid NOT NULL, shard integer NOT NULL, payload jsonb NOT NULL,
  PRIMARY KEY (xid, seq))`);
      },
      extra: (client, body) => {
        const key = randomUUID();
        return client.query({
          name: `bench_floor_log_${schema}`,
          text: `INSERT INTO ${s}.floor_log (id, shard, payload) VALUES ($1, ${s}.shard_of($3::text), $2)`,
          values: [uuidv7(), JSON.stringify({ orderId: key, body }), key],
        });
      },
    },
    {
      name: 'floor-emit',
      describe: 'pg_logical_emit_message(true, …): the floor of a table-less outbox',
      extra: (client, body) =>
        client.query({
          name: 'bench_floor_emit',
          text: `SELECT pg_logical_emit_message(true, 'herald-bench', $1)`,
          values: [JSON.stringify({ orderId: randomUUID(), body })],
        }),
    },
    {
      name: 'herald',
      describe: 'outbox.add of one event, as shipped',
      extra: (client, body) => outbox.add(client, Event({ orderId: randomUUID(), body })),
    },
    {
      // Splits herald's overhead: the statement and its 19 parameters, against outbox.add's own code.
      name: 'herald-sql',
      describe: "the log's INSERT with the values outbox.add binds, without outbox.add's code",
      extra: (client, body) => {
        const id = uuidv7();
        const orderId = randomUUID();
        return insertEvents(
          client,
          schema,
          [
            {
              id,
              type: 'bench.order.placed',
              version: 1,
              source: '/herald-bench',
              subject: null,
              aggregateType: null,
              aggregateId: null,
              partitionKey: orderId,
              destination: 'bench-write',
              payload: JSON.stringify({ orderId, body }),
              headers: {},
              correlationId: id,
              causationId: null,
              userId: null,
              sessionId: null,
              tags: null,
              traceparent: null,
              tracestate: null,
              time: new Date(),
            },
          ],
          true,
        );
      },
    },
    {
      name: 'herald-wal',
      describe: "outbox.add of one event in table-less mode (createOutbox({ mode: 'wal' }))",
      // Table-less writes are refused where no slot would read them; the slot is not read here.
      setup: async (admin) => {
        await ensurePublication(admin, schema);
        await ensureSlot(admin, schema, 30_000);
      },
      extra: (client, body) => walOutbox.add(client, Event({ orderId: randomUUID(), body })),
    },
  ];
}

/** Writers commit in a loop for `seconds`; returns transactions a second and their CPU. */
async function measure(
  pool: pg.Pool,
  options: WriteBenchOptions,
  business: string,
  extra: Extra | null,
  probe: CpuProbe,
): Promise<Measured> {
  const body = 'x'.repeat(options.payloadBytes);
  const row = JSON.stringify({ body });
  const clients = await Promise.all(Array.from({ length: options.writers }, () => pool.connect()));
  // Every run starts just after a checkpoint: one that fell inside some runs and not others (and
  // the full-page images written after it) moved a run's rate by tens of per cent here. A role
  // without the right to checkpoint runs as before.
  await clients[0]?.query('CHECKPOINT').catch(() => {});
  let committed = 0;
  const before = probe.sample();
  const until = performance.now() + options.seconds * 1000;
  const started = performance.now();
  try {
    await Promise.all(
      clients.map(async (client) => {
        while (performance.now() < until) {
          await client.query('BEGIN');
          await client.query({ name: 'bench_business', text: business, values: [randomUUID(), row] });
          if (extra) await extra(client, body);
          await client.query('COMMIT');
          committed++;
        }
      }),
    );
  } finally {
    for (const c of clients) c.release();
  }
  const tps = committed / ((performance.now() - started) / 1000);
  // Seconds per 10,000 transactions are 100 µs per transaction.
  const cpu = per10k(before, probe.sample(), committed);
  const us = (per: number | null) => (per === null ? null : round(per * 100));
  return { tps, clientUs: us(cpu.relayCpuSecPer10k), serverUs: us(cpu.pgCpuSecPer10k) };
}

const cpuText = (m: Measured) =>
  m.clientUs === null ? '' : `, CPU µs/tx: writers ${m.clientUs}, server ${m.serverUs ?? '-'}`;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

export async function writeBench(options: WriteBenchOptions, databaseUrl: string): Promise<WriteResult[]> {
  const schema = uniqueName('herald_bench_write');
  const admin = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.writers });
  admin.on('error', () => {});
  pool.on('error', () => {});
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    await migrate(admin, { schema });
    const s = quoteIdent(schema);
    await admin.query(`CREATE TABLE ${s}.orders (id uuid PRIMARY KEY, body jsonb NOT NULL)`);
    const all = [...coreVariants(schema), ...anatomyVariants(schema)];
    const chosen = options.variants.map((name) => {
      const v = all.find((x) => x.name === name);
      if (!v) throw new Error(`unknown variant ${name}; known: ${all.map((x) => x.name).join(', ')}`);
      return v;
    });
    for (const v of chosen) await v.setup?.(admin);
    const business = `INSERT INTO ${s}.orders (id, body) VALUES ($1, $2)`;
    // The writers run on this thread; the server's processes are found from the admin's backend.
    const probe = await cpuProbe(admin, 'herald-bench-write-none');
    // Warm-up: connections open, statements prepared, caches filled.
    await measure(pool, { ...options, seconds: 1 }, business, null, probe);
    const plain: Measured[] = [];
    const perVariant = new Map<string, Measured[]>(chosen.map((v) => [v.name, []]));
    // Each variant's overhead in each round, against that round's plain (before and after).
    const overheads = new Map<string, number[]>(chosen.map((v) => [v.name, []]));
    const timed = chosen.filter((v) => v.extra !== null);
    for (let r = 0; r < options.rounds; r++) {
      // Plain before and after each round's variants, so drift during a round shows in the base;
      // the variants' order turns by one each round, so none is always measured last.
      const before = await measure(pool, options, business, null, probe);
      const order = timed.map((_, i) => timed[(i + r) % timed.length] as Variant);
      const got = new Map<string, number>();
      for (const v of order) {
        const m = await measure(pool, options, business, v.extra, probe);
        got.set(v.name, m.tps);
        perVariant.get(v.name)?.push(m);
        log(`round ${r + 1}: ${v.name.padEnd(22)} ${Math.round(m.tps)} tx/s${cpuText(m)}`);
      }
      const after = await measure(pool, options, business, null, probe);
      plain.push(before, after);
      for (const [name, tps] of got) overheads.get(name)?.push(1 - tps / ((before.tps + after.tps) / 2));
      log(
        `round ${r + 1}: plain (before, after)     ${Math.round(before.tps)}, ${Math.round(after.tps)} tx/s${cpuText(before)}`,
      );
    }
    const results = chosen.map((v): WriteResult => {
      const rounds = v.extra === null ? plain : (perVariant.get(v.name) ?? []);
      const cpu = (pick: (m: Measured) => number | null) => {
        const values = rounds.map(pick).filter((x): x is number => x !== null);
        return values.length === 0 ? null : round(median(values));
      };
      return {
        variant: v.name,
        txPerSec: Math.round(median(rounds.map((m) => m.tps))),
        // The median of the per-round overheads: each paired with the plain runs around it.
        overheadPct: v.extra === null ? 0 : round(median(overheads.get(v.name) ?? []) * 100),
        rounds: rounds.map((m) => Math.round(m.tps)),
        clientCpuUsPerTx: cpu((m) => m.clientUs),
        serverCpuUsPerTx: cpu((m) => m.serverUs),
      };
    });
    const settings = { writers: options.writers, payloadBytes: options.payloadBytes, seconds: options.seconds };
    if (options.json) {
      for (const r of results) process.stdout.write(`${JSON.stringify({ ...r, ...settings })}\n`);
    } else {
      const lines = results.map((r) => {
        const v = chosen.find((x) => x.name === r.variant);
        return `| ${r.variant} | ${r.txPerSec} | ${r.overheadPct} % | ${r.clientCpuUsPerTx ?? '-'} | ${r.serverCpuUsPerTx ?? '-'} | ${v?.describe ?? ''} |`;
      });
      process.stdout.write(
        `write path: ${options.writers} writers, ${options.payloadBytes}-byte business row, ${options.rounds} rounds of ${options.seconds} s, medians\n` +
          `| variant | tx/s | overhead vs plain | writers' CPU µs/tx | server CPU µs/tx | in the business transaction |\n|---|---|---|---|---|---|\n${lines.join('\n')}\n`,
      );
    }
    return results;
  } finally {
    await pool.end();
    await dropReplication(admin, schema).catch(() => {});
    await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => {});
    await admin.end();
  }
}
