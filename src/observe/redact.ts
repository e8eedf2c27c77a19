// Anything that looks like a credential is masked before it is written.
const secretKey = /pass(word)?|secret|token|authorization|api[-_]?key|credential/i;
const urlPassword = /(\w+:\/\/[^:/@\s]+:)[^@\s]+@/g;

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(urlPassword, '$1***@');
  if (depth > 4 || typeof value !== 'object' || value === null) return value;
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: redact(value.message), ...(code === undefined ? {} : { code }) };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = secretKey.test(k) ? '***' : redact(v, depth + 1);
  return out;
}
