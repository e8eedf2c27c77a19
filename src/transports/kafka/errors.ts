import { type ErrorLike, firstMessage, walkErrors } from '../../error-tree.ts';
import { HeraldError } from '../../errors.ts';
import { isTlsError, socketErrorCodes } from '../../retry/classify.ts';

interface KafkaErrorLike extends ErrorLike {
  apiId?: unknown;
}

const tooLarge = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const networkCodes = new Set(['PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT', ...socketErrorCodes]);

/**
 * Maps a @platformatic/kafka error to a HeraldError that says whether retrying can help. A topic
 * that does not exist when the producer may not create it is not retriable: it is a destination
 * the broker will not take.
 */
export function toHeraldError(error: unknown, brokers: string, autocreate = true): HeraldError {
  if (error instanceof HeraldError) return error;
  const all = [...walkErrors<KafkaErrorLike>(error)];
  const apiIds = all.map((e) => e.apiId).filter((id): id is string => typeof id === 'string');
  const detail = firstMessage(all, error);
  const reason = apiIds.length > 0 ? `${apiIds.join(', ')}: ${detail}` : detail;
  if (all.some((e) => e.name === 'AuthenticationError' || e.apiId === 'SASL_AUTHENTICATION_FAILED')) {
    // The broker's reason names the user at most; the password is never in it.
    return new HeraldError('HERALD_AUTHENTICATION_FAILED', `Kafka at ${brokers} refused the SASL login: ${reason}`, {
      cause: error,
      retriable: true,
    });
  }
  const tls = all.find(isTlsError);
  if (tls) {
    return new HeraldError('HERALD_TLS_FAILED', `TLS to Kafka at ${brokers} failed: ${tls.message} (${tls.code})`, {
      cause: error,
      retriable: true,
      details: { tlsCode: tls.code },
    });
  }
  if (apiIds.some((id) => tooLarge.has(id))) {
    return new HeraldError('HERALD_MESSAGE_TOO_LARGE', `Kafka refused a message as too large: ${reason}`, {
      cause: error,
      details: { apiIds },
    });
  }
  const unknownTopic =
    apiIds.includes('UNKNOWN_TOPIC_OR_PARTITION') ||
    all.some((e) => typeof e.message === 'string' && /unknown topic/i.test(e.message));
  if (unknownTopic && !autocreate) {
    return new HeraldError('HERALD_INVALID_DESTINATION', `Kafka has no such topic and auto-create is off: ${reason}`, {
      cause: error,
      details: { apiIds },
    });
  }
  if (apiIds.length === 0 && all.some((e) => typeof e.code === 'string' && networkCodes.has(e.code))) {
    return new HeraldError('HERALD_BROKER_UNAVAILABLE', `cannot reach Kafka at ${brokers}: ${reason}`, {
      cause: error,
      retriable: true,
    });
  }
  return new HeraldError('HERALD_PUBLISH_FAILED', `Kafka did not acknowledge the batch: ${reason}`, {
    cause: error,
    retriable: true,
    details: { apiIds },
  });
}
