import { type HeraldError, isHeraldError } from '../../errors.ts';
import { loadKafka, withDeadline } from './client.ts';
import { toHeraldError } from './errors.ts';
import type { KafkaSettings } from './options.ts';

/**
 * Why a broker with TLS or SASL configured did not answer. The idempotent producer of
 * @platformatic/kafka 2.12 loses the error of a refused handshake (a certificate that does not
 * verify, a wrong password) and never settles, so the call ends at its deadline as "cannot
 * reach". Then one plain metadata request, with the same connection options, says whether the
 * login or the certificate is the cause: that typed error (HERALD_AUTHENTICATION_FAILED,
 * HERALD_TLS_FAILED) replaces the outage. Anything else keeps the error as it was.
 */
export async function diagnosed(error: unknown, settings: KafkaSettings): Promise<never> {
  const { connection, target, deadlineMs } = settings;
  if (!isHeraldError(error, 'HERALD_BROKER_UNAVAILABLE') || (!connection.tls && !connection.sasl)) throw error;
  const lib = await loadKafka();
  const admin = new lib.Admin({
    clientId: settings.clientId ?? 'herald-diagnose',
    bootstrapBrokers: settings.brokers,
    ...connection,
    timeout: settings.timeoutMs,
    retries: 0,
  });
  let cause: HeraldError | undefined;
  try {
    await withDeadline(admin.metadata({ topics: [] }), deadlineMs, target);
  } catch (probe) {
    const mapped = toHeraldError(probe, target);
    if (mapped.code === 'HERALD_AUTHENTICATION_FAILED' || mapped.code === 'HERALD_TLS_FAILED') cause = mapped;
  } finally {
    await withDeadline(admin.close(), deadlineMs, target).catch(() => {});
  }
  throw cause ?? error;
}
