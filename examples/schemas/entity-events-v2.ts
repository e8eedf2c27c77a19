// The fix: `owner` gets a default, so a v2 reader fills it in for v1 events; the check passes and
// `herald schema push` registers v2.

import { defineEvent } from 'herald';
import { z } from 'zod';
import { EntityCreated, EntityDeleted, EntityUpdated, entityCreatedAvro } from './entity-events.ts';

// #region fixed
export const EntityCreatedV2 = defineEvent({
  type: 'dictamesh.entity.created',
  version: 2,
  schema: EntityCreated.schema.extend({ owner: z.string().default('unassigned') }),
  key: (p) => p.entity_id,
  avro: {
    ...entityCreatedAvro,
    fields: [...entityCreatedAvro.fields, { name: 'owner', type: 'string', default: 'unassigned' }],
  },
});
// #endregion fixed

export { EntityCreated, EntityDeleted, EntityUpdated };
