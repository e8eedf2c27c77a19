import { checkTopicPrefix } from '../config/names.ts';

/** Where an event goes when its definition names no destination. */
export type TopicStrategy = (type: string) => string;

/** Seed 000's strategy: `<prefix>.<type>`; with no prefix, the type itself. The prefix is checked as a destination. */
export function prefixTopics(prefix?: string): TopicStrategy {
  checkTopicPrefix(prefix === '' ? undefined : prefix);
  return prefix ? (type) => `${prefix}.${type}` : (type) => type;
}
