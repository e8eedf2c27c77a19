// The next release of seed 003's events, as a developer first writes it: entity.created v2 adds
// `owner`, a field with no default. Under BACKWARD (the seed's own rule), v2 consumers could not
// read the v1 events still in the topic: `herald schema check` refuses it.

import { defineEvent } from 'herald';
import { z } from 'zod';
import { EntityCreated, EntityDeleted, EntityUpdated, entityCreatedAvro } from './entity-events.ts';

// #region breaking
export const EntityCreatedV2 = defineEvent({
  type: 'dictamesh.entity.created',
  version: 2,
  schema: EntityCreated.schema.extend({ owner: z.string() }),
  key: (p) => p.entity_id,
  avro: {
    ...entityCreatedAvro,
    fields: [...entityCreatedAvro.fields, { name: 'owner', type: 'string' }],
  },
});
// #endregion breaking

export { EntityCreated, EntityDeleted, EntityUpdated };
