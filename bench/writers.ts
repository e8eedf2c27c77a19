import { Worker } from 'node:worker_threads';
import type { PacedResult } from './pace.ts';
import type { PayloadShape } from './payload.ts';
import type { WriterSpec } from './system.ts';

export interface PacedRequest {
  spec: WriterSpec;
  databaseUrl: string;
  rate: number;
  seconds: number;
  concurrency: number;
  /** Events each transaction writes. */
  eventsPerTx: number;
  /** Payload number of the first event (after the backlog's). */
  firstIndex: number;
  payload: PayloadShape;
}

/** Runs the paced writer loop (pace.ts) in a worker thread and returns what it committed. */
export function pacedWritesInWorker(request: PacedRequest): Promise<PacedResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./writer-worker.ts', import.meta.url), { workerData: request });
    let result: PacedResult | undefined;
    worker.once('message', (message: Omit<PacedResult, 'committed'> & { committed: [string, number][] }) => {
      result = { ...message, committed: new Map(message.committed) };
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (result) resolve(result);
      else reject(new Error(`the writer thread exited with code ${code} and no result`));
    });
  });
}
