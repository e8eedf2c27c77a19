import { renameAttributes } from '../../wire/cloudevents.ts';
import type { OutgoingMessage } from '../transport.ts';
import type { ConsumeMessage } from './client.ts';

/** The header that carries a message's key: AMQP has no key of its own. */
export const keyHeader = 'herald_key';
/** CloudEvents AMQP protocol binding: attributes are application properties with this prefix. */
export const amqpPrefix = 'cloudEvents_';

/** The AMQP properties of a message: CloudEvents attributes per the AMQP binding. */
export function toAmqp(m: OutgoingMessage) {
  const { 'content-type': contentType, ...rest } = m.headers;
  const headers = renameAttributes(rest, 'ce_', amqpPrefix);
  headers[keyHeader] = m.key;
  return {
    persistent: true,
    mandatory: true,
    messageId: m.id,
    ...(contentType === undefined ? {} : { contentType }),
    headers,
  };
}

/** Application properties as strings: Herald writes strings, other publishers may not. */
function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** A received message as Herald reads it: `ce_` attributes, `content-type`, the key apart. */
export function fromAmqp(message: Pick<ConsumeMessage, 'properties'>): {
  key: string | null;
  headers: Record<string, string>;
} {
  const raw: Record<string, string> = {};
  let key: string | null = null;
  for (const [k, v] of Object.entries(message.properties.headers ?? {})) {
    if (v === undefined || v === null) continue;
    if (k === keyHeader) key = headerText(v);
    else raw[k] = headerText(v);
  }
  const headers = renameAttributes(raw, amqpPrefix, 'ce_');
  const contentType = message.properties.contentType;
  if (typeof contentType === 'string' && contentType.length > 0) headers['content-type'] = contentType;
  return { key, headers };
}
