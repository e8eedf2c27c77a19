import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { HeraldError } from '../../errors.ts';
import { loadOptional } from '../../optional.ts';

export type SqsModule = typeof import('@aws-sdk/client-sqs');
export type SqsClient = InstanceType<SqsModule['SQSClient']>;

export function loadSqs(): Promise<SqsModule> {
  return loadOptional(() => import('@aws-sdk/client-sqs'), '@aws-sdk/client-sqs', 'the SQS transport');
}

export type Credentials =
  | { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  | (() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>);

export interface ClientSettings {
  endpoint: string | undefined;
  region: string;
  credentials: Credentials | undefined;
  timeoutMs: number;
}

/**
 * An SQS client that fails fast: one retry inside the SDK (Herald retries with its own backoff), a
 * connection timeout, and every call under a deadline (see `withDeadline`). `detach()` lets the
 * process exit while requests are still under way (a long poll that outlives its subscription).
 */
export function createClient(lib: SqsModule, settings: ClientSettings): SqsClient & { detach(): void } {
  const agents = [
    new HttpAgent({ keepAlive: true, maxSockets: 50 }),
    new HttpsAgent({ keepAlive: true, maxSockets: 50 }),
  ];
  const client = new lib.SQSClient({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    maxAttempts: 2,
    requestHandler: {
      connectionTimeout: settings.timeoutMs,
      httpAgent: agents[0],
      httpsAgent: agents[1],
      // The SDK's check for requests queued on the agent runs on a timer it keeps referenced for
      // the whole request (by default the connection timeout + 2 s): a long poll that outlives its
      // subscription then kept the process alive that long after the consumer stopped. The check
      // now runs at once; requests wait for a socket only past maxSockets (50) anyway.
      socketAcquisitionWarningTimeout: 1,
    },
  });
  return Object.assign(client, {
    detach() {
      for (const agent of agents) {
        for (const sockets of Object.values(agent.sockets)) for (const socket of sockets ?? []) socket.unref();
      }
    },
  });
}

/**
 * Runs an SDK call with an AbortSignal that fires after `ms` (the call then fails as
 * HERALD_BROKER_UNAVAILABLE) or when `outer` aborts (it fails with the outer reason). The race
 * makes the deadline hold even while the SDK sleeps between its own attempts.
 */
export async function withDeadline<T>(
  run: (signal: AbortSignal) => Promise<T>,
  ms: number,
  target: string,
  outer?: AbortSignal,
): Promise<T> {
  const controller = new AbortController();
  let reject: (reason: unknown) => void = () => {};
  const aborted = new Promise<never>((_, r) => {
    reject = r;
  });
  const abort = (reason: unknown) => {
    controller.abort(reason);
    reject(reason);
  };
  const timer = setTimeout(
    () =>
      abort(
        new HeraldError('HERALD_BROKER_UNAVAILABLE', `cannot reach SQS at ${target}: no answer in ${ms} ms`, {
          retriable: true,
        }),
      ),
    ms,
  );
  // The call holds its own socket; the deadline alone does not keep the process alive.
  timer.unref();
  const onOuter = () => abort(outer?.reason);
  if (outer?.aborted) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  try {
    return await Promise.race([run(controller.signal), aborted]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  }
}
