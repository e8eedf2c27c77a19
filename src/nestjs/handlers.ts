/**
 * `@HandleEvent(definition)` on a provider's method declares a consumer handler. The declaration
 * is kept per class here (no reflect-metadata needed); the module finds the providers that have
 * some when the application starts.
 */
import type { EventDefinition } from '../events/define.ts';
import type { StandardSchemaV1 } from '../events/standard-schema.ts';

export interface DeclaredHandler {
  method: string | symbol;
  definition: EventDefinition;
  /** The consumer group; default the module's `consumer.group`. */
  group: string | undefined;
}

const declared = new WeakMap<object, DeclaredHandler[]>();

/**
 * Marks a method as the handler of `definition`'s events: called as `(event, { tx, emit, … })`,
 * in a transaction of the module's `db` client with the inbox row. With decorator syntax,
 * `@HandleEvent(OrderPlaced)`; without, `HandleEvent(OrderPlaced)(Service.prototype, 'method')`.
 */
export function HandleEvent<S extends StandardSchemaV1>(
  definition: EventDefinition<S>,
  options: { group?: string } = {},
) {
  return (target: object, method: string | symbol, _descriptor?: PropertyDescriptor): void => {
    const list = declared.get(target) ?? [];
    list.push({ method, definition: definition as unknown as EventDefinition, group: options.group });
    declared.set(target, list);
  };
}

/** The handlers declared on an instance's class and its parents. */
export function handlersOf(instance: object): DeclaredHandler[] {
  const found: DeclaredHandler[] = [];
  for (
    let proto = Object.getPrototypeOf(instance);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    found.push(...(declared.get(proto) ?? []));
  }
  return found;
}
