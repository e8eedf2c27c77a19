import { integerSetting, invalidSetting } from '../config/check.ts';

/**
 * An integer option that may differ per destination (RabbitMQ's `partitions`, the PostgreSQL
 * transport's `maxMessageBytes`): a number, checked at creation, or a function of the destination
 * whose answer is checked each time it is asked, the error naming `setting(destination)`.
 */
export function integerPerDestination(
  setting: string,
  value: unknown,
  min: number,
  max: number,
  fallback: number,
): (destination: string) => number {
  if (typeof value === 'function') {
    return (destination) => {
      const named = `${setting}(${JSON.stringify(destination)})`;
      const n: unknown = value(destination);
      // No answer is an error, not the default.
      if (n === undefined) throw invalidSetting(named, `must be an integer from ${min} to ${max}`, n);
      return integerSetting(named, n, min, max) as number;
    };
  }
  const n = integerSetting(setting, value, min, max, fallback);
  return () => n;
}
