import { HeraldError } from '../errors.ts';
import type { EventDefinition } from '../events/define.ts';
import type { ConsumedEvent } from '../wire/incoming.ts';

/**
 * Brings a payload from the version it was written with to the handler's version through the
 * definition's upcasters, then validates it against the handler's schema.
 */
export async function upcastAndParse<P>(event: ConsumedEvent, definition: EventDefinition): Promise<ConsumedEvent<P>> {
  let payload = event.payload;
  if (event.version > definition.version) {
    throw new HeraldError(
      'HERALD_NO_UPCAST_PATH',
      `${event.type} v${event.version} is newer than the handler's v${definition.version}; events are never downcast`,
      { details: { type: event.type, from: event.version, to: definition.version } },
    );
  }
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
  const parsed = (await definition.parse(payload)) as P;
  return { ...event, version: definition.version, payload: parsed };
}
