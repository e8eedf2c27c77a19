import { type HeraldError, isHeraldError } from '../../errors.ts';
import { loadKafka, withDeadline } from './client.ts';
import { toHeraldError } from './errors.ts';
import type { KafkaSettings } from './options.ts';

/**
 * Whether the broker refuses this client's login or certificate: one plain metadata request with
 * the same connection options and no retries, which @platformatic/kafka answers with the
 * handshake's error (its idempotent producer loses that error and never settles). Returns the
 * typed refusal (HERALD_AUTHENTICATION_FAILED, HERALD_TLS_FAILED), or undefined for anything
 * else, which the caller's own request then meets. Only with TLS or SASL configured.
 */
export async function loginRefusal(settings: KafkaSettings): Promise<HeraldError | undefined> {
  const { connection, target, deadlineMs } = settings;
  if (!connection.tls && !connection.sasl) return undefined;
  const lib = await loadKafka();
  const admin = new lib.Admin({
    clientId: settings.clientId ?? 'herald-diagnose',
    bootstrapBrokers: settings.brokers,
    ...connection,
    timeout: settings.timeoutMs,
    retries: 0,
  });
  try {
    await withDeadline(admin.metadata({ topics: [] }), deadlineMs, target);
    return undefined;
  } catch (probe) {
    const mapped = toHeraldError(probe, target);
    return isLoginRefusal(mapped) ? mapped : undefined;
  } finally {
    await withDeadline(admin.close(), deadlineMs, target).catch(() => {});
  }
}

/** A refused login or certificate: the broker answered, and said no. */
export const isLoginRefusal = (error: unknown): error is HeraldError =>
  isHeraldError(error, 'HERALD_AUTHENTICATION_FAILED') || isHeraldError(error, 'HERALD_TLS_FAILED');

/**
 * Connecting with TLS or SASL: a refused login or certificate fails at once, typed, instead of
 * at the producer's deadline (2 x timeoutMs + 1 s) as "cannot reach".
 */
export async function checkLogin(settings: KafkaSettings): Promise<void> {
  const refusal = await loginRefusal(settings);
  if (refusal) throw refusal;
}

/**
 * Why a broker with TLS or SASL configured did not answer a call that ended at its deadline as
 * "cannot reach" (HERALD_BROKER_UNAVAILABLE): a refused login or certificate replaces the
 * outage (a password changed since connecting, say). Anything else keeps the error as it was.
 */
export async function diagnosed(error: unknown, settings: KafkaSettings): Promise<never> {
  if (!isHeraldError(error, 'HERALD_BROKER_UNAVAILABLE')) throw error;
  throw (await loginRefusal(settings)) ?? error;
}
