import { invalidSetting } from './check.ts';

/**
 * Which event types outlive the log's retention window, in the archive, and for how long: days
 * counted from when the event was logged, or 'forever'. `'*'` stands for every type not named.
 * E.g. `{ 'order.placed': 'forever', 'stock.adjusted': 365, '*': 30 }`.
 */
export type Keep = Readonly<Record<string, number | 'forever'>>;

const typePattern = /^[A-Za-z0-9*][A-Za-z0-9._:/-]{0,199}$/;

/** Checks a keep map (option or parsed setting); each error names the type. */
export function checkKeep(value: unknown, setting = 'keep'): Keep {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidSetting(setting, "must be an object like { 'order.placed': 'forever', '*': 30 }", value);
  }
  const out: Record<string, number | 'forever'> = {};
  for (const [type, days] of Object.entries(value)) {
    if (!typePattern.test(type) || (type.includes('*') && type !== '*')) {
      throw invalidSetting(`${setting}['${type.slice(0, 200)}']`, "is not an event type (or '*')");
    }
    if (days !== 'forever' && !(Number.isSafeInteger(days) && (days as number) >= 0 && (days as number) <= 36_500)) {
      throw invalidSetting(`${setting}['${type}']`, "must be 'forever' or whole days from 0 to 36500", days);
    }
    out[type] = days as number | 'forever';
  }
  return out;
}

/** `HERALD_KEEP` / `--keep`: `type=days|forever` pairs, comma-separated. */
export function parseKeep(raw: string, name: string): Keep {
  const out: Record<string, number | 'forever'> = {};
  for (const pair of raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([^=\s]+)=(forever|\d{1,5})$/.exec(pair);
    if (!m)
      throw invalidSetting(
        name,
        'must be type=days or type=forever pairs, comma-separated (e.g. order.placed=forever,*=30)',
        raw,
      );
    out[m[1] as string] = m[2] === 'forever' ? 'forever' : Number(m[2]);
  }
  return checkKeep(out, name);
}
