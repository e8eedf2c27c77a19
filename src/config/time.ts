import { HeraldError } from '../errors.ts';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

// 2025-06-01, 2025-06-01T12:00, 2025-06-01T12:00:00.123Z, 2025-06-01 12:00:00+02:00
const isoPattern =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const durationPattern = /^(?:\d+(?:ms|s|m|h|d|w))+$/;

function invalid(flag: string, raw: string): HeraldError {
  return new HeraldError(
    'HERALD_INVALID_CONFIG',
    `${flag}: ${JSON.stringify(raw)} is not an ISO 8601 time (2025-06-01, 2025-06-01T12:00:00Z) ` +
      'or a duration before now (30m, 2h, 7d, 1h30m, now)',
    { details: { setting: flag } },
  );
}

/** Milliseconds of a duration like `90s`, `30m`, `2h`, `7d`, `1w` or `1h30m`; undefined if it is none. */
export function parseDuration(raw: string): number | undefined {
  if (!durationPattern.test(raw)) return undefined;
  let ms = 0;
  for (const [, n, unit] of raw.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) ms += Number(n) * (units[unit as string] as number);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * A time given on the command line: an ISO 8601 date or date-time (UTC unless it has an offset),
 * `now`, or a duration meaning that long before `now`. Anything else is HERALD_INVALID_CONFIG
 * naming `flag`.
 */
export function parseTime(raw: string, flag: string, now: Date = new Date()): Date {
  const text = raw.trim();
  if (text === 'now') return new Date(now.getTime());
  const duration = parseDuration(text);
  if (duration !== undefined) return new Date(now.getTime() - duration);
  const m = isoPattern.exec(text);
  if (!m) throw invalid(flag, raw);
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone = 'Z'] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as number[];
  const utc = Date.UTC(year as number, (month as number) - 1, day as number, hour, minute, second);
  // Date.UTC rolls 2025-02-30 over to March: a field out of range is a typo, not a time.
  const check = new Date(utc);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== (month as number) - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second
  ) {
    throw invalid(flag, raw);
  }
  let offsetMinutes = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || '0');
    if (oh > 23 || om > 59) throw invalid(flag, raw);
    offsetMinutes = sign * (oh * 60 + om);
  }
  const ms = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  return new Date(utc - offsetMinutes * 60_000 + ms);
}
