import type { SqsClient, SqsModule } from './client.ts';
import { withDeadline } from './client.ts';
import { entryError, toHeraldError } from './errors.ts';
import type { SqsSettings } from './options.ts';

/** A received message not yet deleted: its queue and the receipt handle of this receipt. */
export interface Held {
  url: string;
  receipt: string;
}

interface Pending {
  held: Held;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** At most 10 entries per DeleteMessageBatch and ChangeMessageVisibilityBatch. */
const chunk = <T>(list: readonly T[], size = 10): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
};

/**
 * The messages a subscription holds, per stream (topic and partition) in the order received.
 * `ack` deletes a message and every earlier one of its stream; the deletes of one turn of the
 * event loop go out together (DeleteMessageBatch, 10 a call). `extend` keeps the held messages
 * hidden; `close` sends the deletes still pending, then makes every held message visible again.
 */
export function createReceiptBook(lib: SqsModule, client: SqsClient, settings: SqsSettings) {
  const { target, timeoutMs } = settings;
  const streams = new Map<string, Held[]>();
  let pending: Pending[] = [];
  let scheduled = false;
  const inFlight = new Set<Promise<void>>();
  let beating: Promise<void> | null = null;
  const call = <T>(run: (signal: AbortSignal) => Promise<T>) => withDeadline(run, timeoutMs, target);

  const byQueue = <T extends { url: string }>(list: readonly T[]) => {
    const queues = new Map<string, T[]>();
    for (const x of list) {
      const same = queues.get(x.url);
      if (same) same.push(x);
      else queues.set(x.url, [x]);
    }
    return queues;
  };

  const deleteBatch = async (url: string, batch: Pending[]) => {
    try {
      const out = await call((abortSignal) =>
        client.send(
          new lib.DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: batch.map((p, i) => ({ Id: String(i), ReceiptHandle: p.held.receipt })),
          }),
          { abortSignal },
        ),
      );
      const failed = new Map((out.Failed ?? []).map((f) => [Number(f.Id), f]));
      batch.forEach((p, i) => {
        const f = failed.get(i);
        // Not deleted: SQS delivers the message again after its visibility timeout.
        if (f) p.reject(toHeraldError(entryError(f), target));
        else p.resolve();
      });
    } catch (error) {
      const e = toHeraldError(error, target);
      for (const p of batch) p.reject(e);
    }
  };

  const flush = () => {
    scheduled = false;
    const work = pending;
    pending = [];
    for (const [url, list] of byQueue(work.map((p) => ({ url: p.held.url, p })))) {
      for (const batch of chunk(list.map((x) => x.p))) {
        const sent = deleteBatch(url, batch);
        inFlight.add(sent);
        void sent.finally(() => inFlight.delete(sent));
      }
    }
  };

  const changeVisibility = async (held: readonly Held[], seconds: number) => {
    await Promise.allSettled(
      [...byQueue(held)].flatMap(([url, list]) =>
        chunk(list).map((batch) =>
          call((abortSignal) =>
            client.send(
              new lib.ChangeMessageVisibilityBatchCommand({
                QueueUrl: url,
                Entries: batch.map((h, i) => ({ Id: String(i), ReceiptHandle: h.receipt, VisibilityTimeout: seconds })),
              }),
              { abortSignal },
            ),
          ),
        ),
      ),
    );
  };

  return {
    /** Records a received message at the end of its stream; returns the stream's id. */
    hold(stream: string, held: Held): string {
      const list = streams.get(stream);
      if (list) list.push(held);
      else streams.set(stream, [held]);
      return stream;
    },
    /** Deletes `held` and every message before it in its stream (no-op if already deleted). */
    ack(stream: string, held: Held): Promise<void> {
      const list = streams.get(stream);
      const i = list ? list.indexOf(held) : -1;
      if (!list || i < 0) return Promise.resolve();
      const done = list.splice(0, i + 1);
      if (list.length === 0) streams.delete(stream);
      const acked = Promise.all(
        done.map((h) => new Promise<void>((resolve, reject) => pending.push({ held: h, resolve, reject }))),
      );
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return acked.then(() => {});
    },
    /** Extends the visibility of every held message (the heartbeat); failures are left to the next beat. */
    extend(): Promise<void> {
      if (beating) return beating;
      const beat = changeVisibility([...streams.values()].flat(), settings.visibilityTimeoutSeconds);
      beating = beat.finally(() => {
        beating = null;
      });
      return beating;
    },
    /** Makes messages visible again at once (messages received after close). */
    release(held: readonly Held[]): Promise<void> {
      return changeVisibility(held, 0);
    },
    async close(): Promise<void> {
      if (scheduled) flush();
      // A heartbeat under way would hide again what is released below.
      await Promise.allSettled([...inFlight, beating]);
      const held = [...streams.values()].flat();
      streams.clear();
      await changeVisibility(held, 0);
    },
  };
}

export type ReceiptBook = ReturnType<typeof createReceiptBook>;
