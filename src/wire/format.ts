import type { IncomingMessage, OutgoingMessage } from './message.ts';

/**
 * A wire format: how an event travels when it is not CloudEvents binary mode with a JSON body
 * (Herald's default). `encode` turns the relay's message (CloudEvents attributes in `ce_` headers,
 * the payload's JSON as the body) into what is published; `decode` turns what a consumer receives
 * back into that shape. Both pass through, unchanged, a message that is not theirs, so formats
 * chain (`chainFormats`) and a consumer reads old and new messages side by side.
 *
 * Implementations: the Avro codec with a schema registry (schemas/avro.ts), CloudEvents
 * structured mode and a user-supplied envelope mapper (wire/envelopes.ts). A transport takes one
 * through `withFormat(transport, format)` (transports/formatted.ts), for the relay, replay, a
 * dead letter's retry and consumers alike.
 *
 * Errors: `decode` throws HERALD_UNDECODABLE_MESSAGE or HERALD_UNKNOWN_SCHEMA for a message it
 * cannot read (the consumer dead-letters it with the reason) and HERALD_REGISTRY_UNAVAILABLE when
 * a registry is away (retried, never dead-lettered); `encode` throws HERALD_UNENCODABLE_EVENT
 * (the relay dead-letters the event) or HERALD_REGISTRY_UNAVAILABLE (retried).
 */
export interface WireFormat {
  readonly name: string;
  /** `transport` is the transport's name (`kafka`, `rabbitmq`, …): a format may frame per broker. */
  encode(message: OutgoingMessage, transport: string): OutgoingMessage | Promise<OutgoingMessage>;
  decode(message: IncomingMessage, transport: string): IncomingMessage | Promise<IncomingMessage>;
}

/** Formats applied one after the other on the way out, in reverse order on the way in. */
export function chainFormats(...formats: WireFormat[]): WireFormat {
  return {
    name: formats.map((f) => f.name).join('+'),
    async encode(message, transport) {
      let m = message;
      for (const f of formats) m = await f.encode(m, transport);
      return m;
    },
    async decode(message, transport) {
      let m = message;
      for (const f of [...formats].reverse()) m = await f.decode(m, transport);
      return m;
    },
  };
}
