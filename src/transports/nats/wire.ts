import type { MsgHdrs } from '@nats-io/transport-node';
import { renameAttributes } from '../../wire/cloudevents.ts';
import type { OutgoingMessage } from '../transport.ts';
import type { NatsLibrary } from './client.ts';

/** The header that carries the message key (NATS messages have none of their own). */
export const keyHeader = 'herald-key';

/**
 * CloudEvents NATS protocol binding, binary mode: attributes as `ce-` headers (Herald's messages
 * arrive with Kafka's `ce_`), `content-type` and the writer's headers as they are, and the key.
 */
export function toNatsHeaders(lib: NatsLibrary, m: OutgoingMessage): MsgHdrs {
  const h = lib.core.headers();
  for (const [name, value] of Object.entries(renameAttributes(m.headers, 'ce_', 'ce-'))) h.set(name, value);
  h.set(keyHeader, m.key);
  return h;
}

/**
 * The headers a consumer sees: CloudEvents attributes back under `ce_` (what the rest of Herald
 * reads, whatever the binding), without the key header and the server's own `Nats-` headers
 * (Nats-Msg-Id, Nats-Expected-Stream, ...).
 */
export function fromNatsHeaders(h: MsgHdrs | undefined): { key: string | null; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  let key: string | null = null;
  if (h) {
    for (const name of h.keys()) {
      const value = h.get(name);
      if (name === keyHeader) key = value;
      else if (!/^nats-/i.test(name)) headers[name] = value;
    }
  }
  return { key, headers: renameAttributes(headers, 'ce-', 'ce_') };
}
