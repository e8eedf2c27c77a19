import { HeraldError, isHeraldError } from '../errors.ts';
import { type EventDefinition, parseNow } from '../events/define.ts';
import type { ConsumedEvent } from '../wire/incoming.ts';

/**
 * Brings a payload from the version it was written with to the handler's version, then validates
 * it against the handler's schema. Older versions go up through the definition's upcasters. A
 * newer version (a producer deployed before this consumer) goes down through its downcasters as
 * far as they reach; what is left is taken only when the definition accepts 'newer-compatible'
 * and the payload validates against the handler's schema (what the schema does not know, it
 * strips or ignores). Otherwise the event is refused with both versions named.
 */
export function upcastAndParse<P>(
  event: ConsumedEvent,
  definition: EventDefinition,
): ConsumedEvent<P> | Promise<ConsumedEvent<P>> {
  const typed = (parsed: unknown): ConsumedEvent<P> => ({
    ...event,
    version: definition.version,
    payload: parsed as P,
  });
  // The handler's own version, the common case: no promise unless the schema validates asynchronously.
  if (event.version === definition.version) {
    const parsed = parseNow(definition, event.payload);
    return parsed instanceof Promise ? parsed.then(typed) : typed(parsed);
  }
  const converted =
    event.version > definition.version
      ? downcastAndParse(event, definition)
      : upcast(event, definition, event.payload).then((p) => definition.parse(p));
  return converted.then(typed);
}

async function upcast(event: ConsumedEvent, definition: EventDefinition, start: unknown): Promise<unknown> {
  let payload = start;
  for (let v = event.version; v < definition.version; v++) {
    const up = definition.upcasters[v];
    if (!up) {
      throw new HeraldError(
        'HERALD_NO_UPCAST_PATH',
        `${event.type} v${event.version} cannot reach the handler's v${definition.version}: no upcaster from v${v}`,
        { details: { type: event.type, from: event.version, to: definition.version, missing: v } },
      );
    }
    payload = await up(payload);
  }
  return payload;
}

async function downcastAndParse(event: ConsumedEvent, definition: EventDefinition): Promise<unknown> {
  const { type } = event;
  const from = event.version;
  const to = definition.version;
  let payload = event.payload;
  let v = from;
  while (v > to && definition.downcasters[v]) {
    payload = await (definition.downcasters[v] as (p: unknown) => unknown)(payload);
    v--;
  }
  if (v > to && definition.accepts !== 'newer-compatible') {
    const path = v === from ? 'no downcaster' : `no downcaster from v${v}`;
    throw new HeraldError(
      'HERALD_NO_UPCAST_PATH',
      `${type} v${from} is newer than the handler's v${to}: ${path}, and the definition does not accept newer-compatible versions`,
      { details: { type, from, to, missing: v } },
    );
  }
  try {
    return await definition.parse(payload);
  } catch (error) {
    if (!isHeraldError(error, 'HERALD_INVALID_PAYLOAD')) throw error;
    const via = v === from ? '' : ` (downcast to v${v})`;
    throw new HeraldError(
      'HERALD_INCOMPATIBLE_VERSION',
      `${type} v${from}${via} is not compatible with the handler's v${to}: ${error.message.replace(/^[^:]*: /, '')}`,
      { cause: error, details: { type, from, to, reached: v, issues: error.details.issues } },
    );
  }
}
