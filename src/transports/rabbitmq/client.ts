import type { ChannelModel } from 'amqplib';
import { HeraldError } from '../../errors.ts';
import { loadOptional } from '../../optional.ts';
import { withDeadline as deadline } from '../deadline.ts';
import type { RabbitMQSettings } from './options.ts';

export type AmqpModule = typeof import('amqplib');
export type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Message } from 'amqplib';

async function loadAmqp(): Promise<AmqpModule> {
  const lib = await loadOptional(() => import('amqplib'), 'amqplib', 'the RabbitMQ transport');
  // CommonJS: the functions may sit on the default export only.
  return ((lib as { default?: AmqpModule }).default ?? lib) as AmqpModule;
}

/**
 * Rejects with HERALD_BROKER_UNAVAILABLE (retriable) if `promise` has not settled in `ms`. An
 * AMQP call waits for the server's reply, which never comes from a server that stopped reading,
 * so every call goes through a deadline. `onLate` gets what settles after the deadline (a
 * connection opened too late is closed by it, not leaked).
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  onLate?: (value: T) => void,
): Promise<T> {
  return deadline(
    promise,
    ms,
    () => new HeraldError('HERALD_BROKER_UNAVAILABLE', `${what}: no answer in ${ms} ms`, { retriable: true }),
    onLate,
  );
}

/**
 * Opens a connection within the deadline. The caller owns it: amqplib does not reconnect, so a
 * closed connection is dropped and the next call opens a new one.
 */
export async function openConnection(settings: RabbitMQSettings, purpose: string): Promise<ChannelModel> {
  const lib = await loadAmqp();
  const e = settings.endpoint;
  const connection = await withDeadline(
    lib.connect(
      {
        protocol: e.protocol,
        hostname: e.hostname,
        port: e.port,
        username: e.username,
        password: e.password,
        vhost: e.vhost,
        heartbeat: settings.heartbeatSeconds,
      },
      {
        timeout: settings.timeoutMs,
        noDelay: true,
        clientProperties: { connection_name: `${settings.connectionName} ${purpose}` },
      },
    ),
    settings.timeoutMs,
    `cannot reach RabbitMQ at ${settings.target}`,
    (late) => void late.close().catch(() => {}),
  );
  // Without a listener an 'error' event would be thrown; the 'close' that follows is handled.
  connection.on('error', () => {});
  return connection;
}

/** Closes quietly, within the deadline: closing is best-effort and must not hang a shutdown. */
export async function closeQuietly(closable: { close(): Promise<void> } | null, ms: number): Promise<void> {
  if (!closable) return;
  await withDeadline(
    Promise.resolve().then(() => closable.close()),
    ms,
    'close',
  ).catch(() => {});
}
