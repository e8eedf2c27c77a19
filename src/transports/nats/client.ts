import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { HeraldError } from '../../errors.ts';
import { loadOptional } from '../../optional.ts';
import { withDeadline as deadline } from '../deadline.ts';
import { toHeraldError } from './errors.ts';
import type { NatsSettings } from './options.ts';

export type NatsCore = typeof import('@nats-io/transport-node');
export type NatsJetStream = typeof import('@nats-io/jetstream');
export interface NatsLibrary {
  core: NatsCore;
  jetstream: NatsJetStream;
}

export const natsPackages = '@nats-io/transport-node @nats-io/jetstream';

const importBoth = async (): Promise<NatsLibrary> => {
  const [core, jetstream] = await Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')]);
  return { core, jetstream };
};

/** The two client packages, optional peer dependencies: when one is missing the error names both. */
export function loadNats(load: () => Promise<NatsLibrary> = importBoth): Promise<NatsLibrary> {
  return loadOptional(load, natsPackages, 'the NATS transport');
}

export const unavailable = (target: string, reason: string, cause?: unknown) =>
  new HeraldError('HERALD_BROKER_UNAVAILABLE', `cannot reach NATS at ${target}: ${reason}`, {
    retriable: true,
    ...(cause === undefined ? {} : { cause }),
  });

/**
 * Rejects if `promise` has not settled in `ms`; `late` disposes of a result that arrives after
 * the deadline (a connection that opens too late is closed, not leaked).
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, target: string, late?: (value: T) => void) {
  return deadline(promise, ms, () => unavailable(target, `no answer in ${ms} ms`), late);
}

/** One connection with its JetStream handles, and whether the server is there right now. */
export interface Connection {
  lib: NatsLibrary;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** False from a disconnect until the client has reconnected. */
  readonly up: boolean;
  /** Called once at the first disconnect. */
  onDown(listener: () => void): void;
  /** A deadline for one call: the request timeout with room for the answer. */
  deadline<T>(promise: Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Connects and checks JetStream answers. The client reconnects by itself without end (the stream
 * lives on the server's disk); while it is away, `up` is false and Herald's operations fail
 * fast with HERALD_BROKER_UNAVAILABLE, so the relay and consumer retry with their backoff.
 */
export async function openConnection(settings: NatsSettings, name: string): Promise<Connection> {
  const lib = await loadNats();
  const { target, timeoutMs } = settings;
  const deadlineMs = timeoutMs * 2 + 1000;
  let nc: NatsConnection;
  try {
    nc = await withDeadline(
      lib.core.connect({
        servers: settings.servers,
        name,
        timeout: timeoutMs,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        waitOnFirstConnect: false,
        pingInterval: 10_000,
        maxPingOut: 2,
        ...(settings.user !== undefined ? { user: settings.user, pass: settings.pass as string } : {}),
        ...(settings.token !== undefined ? { token: settings.token } : {}),
      }),
      deadlineMs,
      target,
      (late) => void late.close().catch(() => {}),
    );
  } catch (error) {
    throw toHeraldError(error, target);
  }
  let up = true;
  const listeners: (() => void)[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'close') {
        up = false;
        for (const listener of listeners.splice(0)) listener();
      } else if (s.type === 'reconnect') up = true;
    }
  })().catch(() => {});
  const close = () =>
    withDeadline(nc.close(), deadlineMs, target).catch(() => {
      // Closed or not, the handle is given up.
    });
  try {
    const jsm = await withDeadline(lib.jetstream.jetstreamManager(nc, { timeout: timeoutMs }), deadlineMs, target);
    return {
      lib,
      nc,
      js: lib.jetstream.jetstream(nc, { timeout: timeoutMs }),
      jsm,
      get up() {
        return up && !nc.isClosed();
      },
      onDown(listener) {
        if (!up || nc.isClosed()) listener();
        else listeners.push(listener);
      },
      deadline: (promise) => withDeadline(promise, deadlineMs, target),
      close,
    };
  } catch (error) {
    await close();
    throw toHeraldError(error, target);
  }
}
