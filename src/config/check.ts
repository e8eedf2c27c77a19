import { HeraldError } from '../errors.ts';
import { shownName } from './names.ts';

/**
 * Checks of options, flags and environment variables, used by every factory, transport and the
 * CLI, so that a bad setting always reads the same way: `<setting>: <value> <rule>`, code
 * HERALD_INVALID_CONFIG, `details.setting` naming it. A value is shown only when it is plain
 * (a string, number, boolean or a short list of them) and never when it may be a secret.
 */

const hidden = Symbol('hidden');

function shown(value: unknown): string {
  if (value === hidden) return '';
  // JSON would show NaN and Infinity as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return `${value} `;
  const plain = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
  if (plain(value) || (Array.isArray(value) && value.length <= 20 && value.every(plain))) {
    if (typeof value === 'string') return `${shownName(value)} `;
    // Strings as names are shown: escaped outside printable ASCII, cut.
    const text = Array.isArray(value)
      ? `[${value.map((v) => (typeof v === 'string' ? shownName(v) : JSON.stringify(v))).join(',')}]`
      : JSON.stringify(value);
    return `${text.length > 200 ? `${text.slice(0, 200)}…` : text} `;
  }
  return `(${value === undefined ? 'missing' : Array.isArray(value) ? 'array' : typeof value}) `;
}

/** The error for a bad setting. Leave `value` out to name only the setting (a secret, a URL with a password). */
export function invalidSetting(setting: string, rule: string, ...value: [unknown?]): HeraldError {
  const text = shown(value.length === 0 ? hidden : value[0]);
  return new HeraldError('HERALD_INVALID_CONFIG', `${setting}: ${text}${rule}`, { details: { setting } });
}

/** The options argument of a factory: an object. */
export function checkObject(value: unknown, setting = 'options'): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidSetting(setting, 'must be an object', value);
  }
}

/** An integer in [min, max], or `fallback` when absent. */
export function integerSetting(setting: string, value: unknown, min: number, max: number, fallback: number): number;
export function integerSetting(setting: string, value: unknown, min: number, max: number): number | undefined;
export function integerSetting(
  setting: string,
  value: unknown,
  min: number,
  max: number,
  fallback?: number,
): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidSetting(setting, `must be an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** A finite number of at least `min`, or `fallback` when absent. */
export function numberSetting(setting: string, value: unknown, min: number, fallback: number): number;
export function numberSetting(setting: string, value: unknown, min: number): number | undefined;
export function numberSetting(setting: string, value: unknown, min: number, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalidSetting(setting, `must be a number >= ${min}`, value);
  }
  return value;
}

/** One of the allowed values, or `fallback` when absent. */
export function oneOf<const T>(setting: string, value: unknown, allowed: readonly T[], fallback: T): T;
export function oneOf<const T>(setting: string, value: unknown, allowed: readonly T[]): T | undefined;
export function oneOf<const T>(setting: string, value: unknown, allowed: readonly T[], fallback?: T): T | undefined {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw invalidSetting(setting, `must be ${allowed.map((a) => JSON.stringify(a)).join(' or ')}`, value);
  }
  return value as T;
}

export function booleanSetting(setting: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidSetting(setting, 'must be true or false', value);
  return value;
}

/** A function (a strategy the caller supplies), or undefined. */
export function functionSetting<F>(setting: string, value: unknown, rule: string): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalidSetting(setting, `must be a function ${rule}`, value);
  return value as F;
}

/** A non-empty string, or undefined. With `secret`, the value is never repeated in the error. */
export function textSetting(setting: string, value: unknown, options: { secret?: boolean; max?: number } = {}) {
  if (value === undefined) return undefined;
  const max = options.max ?? 10_000;
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    const rule = `must be a non-empty string of at most ${max} characters`;
    throw options.secret ? invalidSetting(setting, rule) : invalidSetting(setting, rule, value);
  }
  return value;
}

/** The error for a setting that must be given and was not: `<setting> is required: <what it is>`. */
export function missingSetting(setting: string, what: string): HeraldError {
  return new HeraldError('HERALD_INVALID_CONFIG', `${setting} is required: ${what}`, { details: { setting } });
}

const hostPort = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

/** `host:port` addresses, as a list or one comma-separated string (Kafka's bootstrap brokers). */
export function hostPortList(setting: string, value: unknown): string[] {
  const list = (Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(',') : [])
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  const bad = list.find((b) => !hostPort.test(b));
  if (list.length === 0 || bad !== undefined) {
    throw invalidSetting(setting, 'is not a list of host:port', bad ?? value);
  }
  return list;
}
