import { loadOptional } from '../optional.ts';
import { lsnText, lsnValue } from '../store/replication.ts';
import type { LogRow } from '../store/sql/read-batch.ts';
import { decodeWalEvent, walMessageShard, walPrefix } from '../wire/wal-event.ts';

/** A committed transaction of the log, as logical replication delivers it, in commit order. */
export interface WalTransaction {
  rows: LogRow[];
  /** The transaction's xid when it wrote rows of the log (the cursors cover those); null when
   * all it wrote was table-less. */
  logXid: string | null;
  /** Acknowledge this once every row is published: the slot then lets its WAL go. */
  endLsn: string;
}

export interface WalStream {
  /**
   * Up to `max` rows of whole transactions, oldest first (a transaction larger than `max` comes
   * alone); waits up to `waitMs` for the first. The LSN to acknowledge after publishing them is
   * the last transaction's `endLsn`.
   */
  take(max: number, waitMs: number): Promise<WalTransaction[]>;
  /** Tells the server everything up to `lsn` is done with. */
  acknowledge(lsn: string): Promise<void>;
  /** Asks the server for a keepalive, which says how far it has sent (idleAt). */
  ping(): Promise<void>;
  /** The end of the WAL the server has sent, when nothing is waiting to be taken; else null. */
  idleAt(): string | null;
  /** Rejects when the stream fails (slot dropped, connection lost); the caller starts again. */
  readonly failed: Promise<never>;
  close(): Promise<void>;
}

// Transactions held in memory before the stream is paused (backpressure).
const highWater = 20_000;

interface PgoutputColumn {
  name: string;
  parser: (text: string) => unknown;
}

interface PgoutputMessage {
  tag: string;
  /** A relation message's table; its columns' parsers read every later insert of it. */
  schema?: string;
  name?: string;
  columns?: PgoutputColumn[];
  relation?: { schema: string; name: string };
  new?: Record<string, unknown>;
  commitEndLsn?: string | null;
  transactional?: boolean;
  prefix?: string;
  content?: Uint8Array;
}

const keepText = (v: string) => v;
const text = (v: unknown) => (v === null || v === undefined ? null : String(v));

/** A log row as pgoutput gives it (values parsed by type), in the relay's LogRow shape. */
function toRow(values: Record<string, unknown>): LogRow {
  const payload = values.payload;
  return {
    xid: String(values.xid),
    seq: String(values.seq),
    shard: Number(values.shard),
    id: String(values.id),
    type: String(values.type),
    version: Number(values.version),
    source: String(values.source),
    subject: text(values.subject),
    partition_key: String(values.partition_key),
    destination: text(values.destination),
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    headers: (typeof values.headers === 'string' ? JSON.parse(values.headers) : values.headers) as Record<
      string,
      string
    >,
    correlation_id: text(values.correlation_id),
    causation_id: text(values.causation_id),
    user_id: text(values.user_id),
    session_id: text(values.session_id),
    tags: Array.isArray(values.tags) ? values.tags.map(String) : null,
    traceparent: text(values.traceparent),
    tracestate: text(values.tracestate),
    created_at: values.created_at instanceof Date ? values.created_at : new Date(String(values.created_at)),
  };
}

/**
 * Streams the log's inserts from the schema's slot with pgoutput (pg-logical-replication, an
 * optional peer), acknowledging only what the caller says is done: never on receipt, so a relay
 * that dies resumes from the last transaction it published.
 */
export async function openWalStream(options: {
  connection: Record<string, unknown>;
  slot: string;
  publication: string;
  schema: string;
  /** Where the slot stands (its confirmed_flush_lsn): what replies repeat until a newer acknowledgement. */
  acknowledged?: string;
  onUnreadable?: (error: unknown, bytes: number) => void;
}): Promise<WalStream> {
  const lib = await loadOptional(
    () => import('pg-logical-replication'),
    'pg-logical-replication',
    "The relay's CDC source (source: 'cdc')",
  );
  const service = new lib.LogicalReplicationService(options.connection, {
    acknowledge: { auto: false, timeoutSeconds: 0 },
    // Without the library's flow control: it queues messages and handles them later, while
    // keepalives are handled at once, so a keepalive could vouch for transactions not yet seen.
    flowControl: { enabled: false },
  });
  const plugin = new lib.PgoutputPlugin({ protoVersion: 1, publicationNames: [options.publication], messages: true });
  const prefix = walPrefix(options.schema);

  const ready: WalTransaction[] = [];
  let open: LogRow[] | null = null;
  let openLogXid: string | null = null;
  let wakeTaker: (() => void) | null = null;
  // Backpressure by pausing the socket, as the library's own flow control does.
  const socket = () =>
    (service as unknown as { _connection?: { stream?: { pause?(): void; resume?(): void } } })._connection?.stream;
  let paused = false;
  let lastKeepalive: string | null = null;
  let fail!: (error: unknown) => void;
  let failure: { error: unknown } | null = null;
  const failed = new Promise<never>((_, reject) => {
    fail = (error) => {
      failure ??= { error };
      reject(error);
      wakeTaker?.();
    };
  });
  failed.catch(() => {});

  let acked = options.acknowledged ?? '0/0';
  // pg-logical-replication reports an LSN + 1 (a physical standby's "last byte + 1"); a logical
  // slot must hear the commit's end itself, or the transaction whose commit record starts right
  // there is skipped when the stream starts again.
  const exact = (lsn: string) => (lsn === '0/0' ? lsn : lsnText(lsnValue(lsn) - 1n));
  service.on('error', (error: Error) => fail(error));
  service.on('heartbeat', (lsn: string, _time: number, shouldRespond: boolean) => {
    lastKeepalive = lsn;
    // The server waits for a reply to some keepalives; the reply repeats what was acknowledged.
    if (shouldRespond) void service.acknowledge(exact(acked)).catch(() => {});
  });
  // Handled in the order received, keepalives included; too much waiting pauses the socket.
  service.on('data', (_lsn: string, message: PgoutputMessage) => {
    if (message.tag === 'relation') {
      // pg-logical-replication reads each column with node-postgres's type parsers: a jsonb
      // payload would be parsed, and then written again for the broker. Kept as the server's text
      // (its cost grows with the payload's structure: 17 µs for a 2 kB object of fifty items).
      if (message.schema === options.schema && message.name === 'log') {
        for (const column of message.columns ?? []) if (column.name === 'payload') column.parser = keepText;
      }
    } else if (message.tag === 'begin') {
      open = [];
      openLogXid = null;
    } else if (
      message.tag === 'insert' &&
      open &&
      message.relation?.name === 'log' &&
      message.relation.schema === options.schema
    ) {
      const row = toRow(message.new ?? {});
      open.push(row);
      openLogXid = row.xid;
    } else if (message.tag === 'message' && open && message.transactional && message.prefix === prefix) {
      try {
        open.push({
          ...decodeWalEvent(message.content ?? new Uint8Array()),
          xid: '0',
          seq: '0',
          shard: walMessageShard,
        });
      } catch (error) {
        // Not an event this version can read (a newer format, or not Herald's): the others go on.
        options.onUnreadable?.(error, message.content?.length ?? 0);
      }
    } else if (message.tag === 'commit' && open) {
      if (open.length > 0) ready.push({ rows: open, logXid: openLogXid, endLsn: message.commitEndLsn ?? '0/0' });
      open = null;
      wakeTaker?.();
      if (ready.length >= highWater && !paused) {
        paused = true;
        socket()?.pause?.();
      }
    }
  });
  void service.subscribe(plugin, options.slot).catch((error: unknown) => fail(error));

  return {
    failed,
    async take(max, waitMs) {
      // Not a race against `failed`: that would add a reaction to it per call, kept until it
      // settles. fail() wakes the taker instead.
      if (ready.length === 0 && !failure) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((r) => {
          wakeTaker = r;
          timer = setTimeout(r, waitMs);
        });
        clearTimeout(timer);
        wakeTaker = null;
      }
      if (failure && ready.length === 0) throw (failure as { error: unknown }).error;
      const out: WalTransaction[] = [];
      let rows = 0;
      while (ready.length > 0) {
        const next = ready[0] as WalTransaction;
        if (out.length > 0 && rows + next.rows.length > max) break;
        out.push(ready.shift() as WalTransaction);
        rows += next.rows.length;
      }
      if (paused && ready.length < highWater / 2) {
        paused = false;
        socket()?.resume?.();
      }
      return out;
    },
    async acknowledge(lsn) {
      acked = lsn;
      await service.acknowledge(exact(lsn));
    },
    async ping() {
      await service.acknowledge(exact(acked), true);
    },
    idleAt: () => (ready.length === 0 && open === null ? lastKeepalive : null),
    async close() {
      await service.destroy().catch(() => {});
    },
  };
}
