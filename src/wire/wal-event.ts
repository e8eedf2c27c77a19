import type { StoredEvent } from './outgoing.ts';

/**
 * The table-less outbox's event, as the text of a `pg_logical_emit_message`: the log row's
 * fields as JSON, the payload embedded as it was validated. Written by the outbox in `wal` mode,
 * read back by the relay's CDC source. `v` is the format's version. Fields that are null are left
 * out (headers are always there): every byte is written to the WAL and decoded by the walsender,
 * and most events have no subject, causation, user, session, tags or trace. Readers take a
 * missing field as null (earlier writers wrote the nulls, and earlier readers print a missing
 * field's header as they print a null's).
 */
export interface WalEvent {
  v: 1;
  id: string;
  type: string;
  version: number;
  source: string;
  subject?: string | null;
  partitionKey: string;
  destination?: string | null;
  headers?: Record<string, string>;
  correlationId?: string | null;
  causationId?: string | null;
  userId?: string | null;
  sessionId?: string | null;
  tags?: string[] | null;
  traceparent?: string | null;
  tracestate?: string | null;
  time: string;
}

/**
 * The shard of a table-less event in the relay (-1): it has no row and no position in the log,
 * so no cursor covers it, and the relay publishes it as it comes.
 */
export const walMessageShard = -1;

/** The message prefix of a schema's events: a relay reads only its own schema's. */
export const walPrefix = (schema: string) => `herald:${schema}`;

/** The message text: the envelope's JSON with the payload's JSON text spliced in as `payload`. */
export function encodeWalEvent(event: WalEvent, payloadJson: string): string {
  const envelope = JSON.stringify(event);
  return `${envelope.slice(0, -1)},"payload":${payloadJson}}`;
}

const payloadMember = Buffer.from(',"payload":');
const [quote, backslash, comma] = [34, 92, 44];
const [openBrace, closingBrace, openBracket, closingBracket] = [123, 125, 91, 93];
/** What a JSON value can begin with. */
const jsonStart = /^[{["\-0-9tfn]/;

/** Whether `,"payload":` starts at `at` (compared here: a call into Buffer.compare per member cost more). */
function isPayloadMember(bytes: Buffer, at: number): boolean {
  if (at + payloadMember.length > bytes.length) return false;
  for (let k = 0; k < payloadMember.length; k++) if (bytes[at + k] !== payloadMember[k]) return false;
  return true;
}

/**
 * Where the payload's JSON starts in a message's bytes: at the top-level `"payload":` member,
 * which every writer (encodeWalEvent, since the first release) puts last; -1 when there is none.
 * Only the envelope before it is scanned, strings skipped and nesting counted (the bytes that
 * matter are ASCII, and no byte of a multi-byte UTF-8 character is): the payload, however large,
 * is neither parsed nor written again, and is published as the text the writer validated.
 */
function payloadStart(bytes: Buffer): number {
  let depth = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === quote) {
      for (i++; i < bytes.length && bytes[i] !== quote; i++) if (bytes[i] === backslash) i++;
    } else if (c === openBrace || c === openBracket) {
      depth++;
    } else if (c === closingBrace || c === closingBracket) {
      depth--;
    } else if (c === comma && depth === 1 && isPayloadMember(bytes, i)) {
      return i;
    }
  }
  return -1;
}

/** A message's content back as a stored event; throws on anything that is not one. */
export function decodeWalEvent(content: Uint8Array): StoredEvent {
  const bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  const at = payloadStart(bytes);
  const end = bytes.lastIndexOf(closingBrace);
  let parsed: WalEvent;
  let payload: string;
  if (at > 0 && end > at) {
    // Each part decoded on its own: the payload a string of its own, not a slice keeping the
    // whole message alive until it is published.
    parsed = JSON.parse(`${bytes.toString('utf8', 0, at)}}`) as WalEvent;
    payload = bytes.toString('utf8', at + payloadMember.length, end).trim();
  } else {
    // No top-level payload member: parsed whole, which throws on what is not JSON.
    const whole = JSON.parse(bytes.toString('utf8')) as WalEvent & { payload: unknown };
    parsed = whole;
    payload = JSON.stringify(whole.payload);
  }
  if (
    parsed.v !== 1 ||
    typeof parsed.id !== 'string' ||
    typeof parsed.type !== 'string' ||
    typeof payload !== 'string' ||
    !jsonStart.test(payload)
  ) {
    throw new Error('not a herald table-less event');
  }
  return {
    id: parsed.id,
    type: parsed.type,
    version: parsed.version,
    source: parsed.source,
    subject: parsed.subject ?? null,
    partition_key: parsed.partitionKey,
    destination: parsed.destination ?? null,
    payload,
    headers: parsed.headers ?? {},
    correlation_id: parsed.correlationId ?? null,
    causation_id: parsed.causationId ?? null,
    user_id: parsed.userId ?? null,
    session_id: parsed.sessionId ?? null,
    tags: parsed.tags ?? null,
    traceparent: parsed.traceparent ?? null,
    tracestate: parsed.tracestate ?? null,
    created_at: new Date(parsed.time),
  };
}
