import { HeraldError } from '../../errors.ts';
import { type SqsClient, type SqsModule, withDeadline } from './client.ts';
import { isQueueMissing, toHeraldError } from './errors.ts';

export interface QueueSettings {
  /** Create a missing queue (FIFO, with `attributes`); otherwise a missing queue is an invalid destination. */
  autoCreate: boolean;
  attributes: Record<string, string>;
  timeoutMs: number;
  target: string;
}

/** Queue URLs by name, looked up once (GetQueueUrl), the queue created if missing and allowed. */
export function createQueueDirectory(lib: SqsModule, client: () => SqsClient, settings: QueueSettings) {
  const urls = new Map<string, Promise<string>>();
  const call = <T>(run: (signal: AbortSignal) => Promise<T>) => withDeadline(run, settings.timeoutMs, settings.target);

  const resolve = async (name: string): Promise<string> => {
    try {
      const found = await call((abortSignal) =>
        client().send(new lib.GetQueueUrlCommand({ QueueName: name }), { abortSignal }),
      );
      if (found.QueueUrl) return found.QueueUrl;
    } catch (error) {
      if (!isQueueMissing(error)) throw toHeraldError(error, settings.target);
    }
    if (!settings.autoCreate) {
      throw new HeraldError(
        'HERALD_INVALID_DESTINATION',
        `SQS has no queue ${name} and autoCreateQueues is off: create it (FIFO) or turn autoCreateQueues on`,
        { details: { queue: name } },
      );
    }
    try {
      const created = await call((abortSignal) =>
        client().send(
          new lib.CreateQueueCommand({ QueueName: name, Attributes: { ...settings.attributes, FifoQueue: 'true' } }),
          { abortSignal },
        ),
      );
      if (!created.QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
      return created.QueueUrl;
    } catch (error) {
      throw toHeraldError(error, settings.target);
    }
  };

  return {
    /** The URL of the queue `name`; a failed look-up is not kept. */
    url(name: string): Promise<string> {
      let url = urls.get(name);
      if (!url) {
        url = resolve(name);
        urls.set(name, url);
        url.catch(() => {
          if (urls.get(name) === url) urls.delete(name);
        });
      }
      return url;
    },
    /** Forgets a URL (the queue was deleted): the next `url()` looks it up, or creates it, again. */
    forget(name: string): void {
      urls.delete(name);
    },
  };
}

export type QueueDirectory = ReturnType<typeof createQueueDirectory>;
