import { activeTraceIds } from './tracing.ts';

/**
 * Structural logger: pino instances fit as they are (`logger.info({ ... }, 'message')`).
 * The default writes one JSON line per record to stderr, with `trace_id` and `span_id` when an
 * OpenTelemetry span is active.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const levels = { debug: 20, info: 30, warn: 40, error: 50, silent: 100 } as const;
export type LogLevel = keyof typeof levels;

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

export function createLogger(options: { level?: LogLevel; write?: (line: string) => void } = {}): Logger {
  const threshold = levels[options.level ?? ((process.env.HERALD_LOG_LEVEL as LogLevel) || 'info')] ?? levels.info;
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const log = (level: Exclude<LogLevel, 'silent'>) => (fields: Record<string, unknown>, msg: string) => {
    if (levels[level] < threshold) return;
    // With a span active (and @opentelemetry/api loaded), the line names it: logs join traces.
    const ids = activeTraceIds();
    write(
      `${JSON.stringify({ level, time: new Date().toISOString(), msg: redact(msg), ...ids, ...(redact(fields) as object) })}\n`,
    );
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
