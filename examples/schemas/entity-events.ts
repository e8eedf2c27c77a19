// Seed 003's entity lifecycle events (DictaMesh: entity.created, entity.updated, entity.deleted)
// as Herald definitions with their Avro schemas. The seed's envelope fields (event_id, timestamp,
// source, correlation and trace ids) are CloudEvents attributes in Herald, so the Avro record is
// the payload: what the entity is and its data.

import { defineEvent } from 'herald';
import { z } from 'zod';

// #region entity-created
const entity = {
  source_entity_id: z.string(),
  entity_id: z.string(),
  entity_type: z.string(),
  domain: z.string(),
  schema_version: z.string(),
};
const entityFields = [
  { name: 'source_entity_id', type: 'string', doc: 'Entity ID in the source system' },
  { name: 'entity_id', type: 'string', doc: 'Catalog entity ID (canonical)' },
  { name: 'entity_type', type: 'string', doc: 'Type of entity (product, order, customer, etc.)' },
  { name: 'domain', type: 'string', doc: 'Domain the entity belongs to' },
  { name: 'schema_version', type: 'string', doc: 'Entity schema version' },
];

export const entityCreatedAvro = {
  type: 'record',
  name: 'EntityCreatedEvent',
  namespace: 'com.dictamesh.events.v1',
  doc: 'Published when a new entity is registered in the catalog',
  fields: [...entityFields, { name: 'data', type: 'string', doc: 'JSON-encoded entity data' }],
};

export const EntityCreated = defineEvent({
  type: 'dictamesh.entity.created',
  version: 1,
  schema: z.object({ ...entity, data: z.string() }),
  key: (p) => p.entity_id,
  avro: entityCreatedAvro,
});
// #endregion entity-created

export const EntityUpdated = defineEvent({
  type: 'dictamesh.entity.updated',
  version: 1,
  schema: z.object({ ...entity, data: z.string(), changed_fields: z.array(z.string()) }),
  key: (p) => p.entity_id,
  avro: {
    type: 'record',
    name: 'EntityUpdatedEvent',
    namespace: 'com.dictamesh.events.v1',
    fields: [
      ...entityFields,
      { name: 'data', type: 'string', doc: 'JSON-encoded entity data after the update' },
      { name: 'changed_fields', type: { type: 'array', items: 'string' } },
    ],
  },
});

export const EntityDeleted = defineEvent({
  type: 'dictamesh.entity.deleted',
  version: 1,
  schema: z.object(entity),
  key: (p) => p.entity_id,
  avro: { type: 'record', name: 'EntityDeletedEvent', namespace: 'com.dictamesh.events.v1', fields: entityFields },
});
