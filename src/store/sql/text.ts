/**
 * Text PostgreSQL can store, made from whatever arrived: `text` cannot hold NUL (0x00) and `jsonb`
 * refuses `\u0000`, and a lone UTF-16 surrogate has no UTF-8 form. Each such character becomes
 * U+FFFD, so a message carrying any bytes at all can still be recorded (the body itself is kept
 * as bytea, byte for byte). Long text is cut at `max` characters.
 */
const unstorable = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function storableText(text: string, max = 1_000_000): string {
  const clean = text.replace(unstorable, '\uFFFD');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export function storableNullable(text: string | null, max?: number): string | null {
  return text === null ? null : storableText(text, max);
}

/** Headers as a jsonb value PostgreSQL takes: names and values made storable. */
export function storableHeaders(headers: Record<string, string>): string {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[storableText(k, 1000)] = storableText(String(v), 100_000);
  return JSON.stringify(out);
}
