/** Where an event goes when its definition names no destination. */
export type TopicStrategy = (type: string) => string;

/** Seed 000's strategy: `<prefix>.<type>`; with no prefix, the type itself. */
export function prefixTopics(prefix?: string): TopicStrategy {
  return prefix ? (type) => `${prefix}.${type}` : (type) => type;
}
