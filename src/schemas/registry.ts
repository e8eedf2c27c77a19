/**
 * The schema registry port: what Herald needs of a registry, whichever holds the schemas. Two
 * adapters implement it: Herald's own, in PostgreSQL (the herald schema, by migration), and a
 * client of a Confluent-compatible registry (REST: subjects, versions, ids, compatibility).
 *
 * Herald registers each event type under the subject named like the type (`order.placed`), one
 * registry version per Herald version of the event, in order. Compatibility is decided by
 * Herald's own checker (JSON Schema rules, avsc's resolver for Avro) so that a failed check names
 * the field and the rule on either adapter; the registry stores the mode per subject.
 */

export type SchemaFormat = 'JSON' | 'AVRO';

export const compatibilityModes = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const;

export type CompatibilityMode = (typeof compatibilityModes)[number];

export interface RegisteredSchema {
  subject: string;
  /** The registry's version of the subject, from 1. */
  version: number;
  /** Global id of the schema text (what the Confluent wire header carries). */
  id: number;
  format: SchemaFormat;
  /** The schema as JSON text. */
  schema: string;
}

export interface SchemaRegistry {
  /** Registers a schema under a subject; registering the same schema again returns the same one. */
  register(subject: string, format: SchemaFormat, schema: string): Promise<RegisteredSchema>;
  /** The registered version of this exact schema under the subject, if any. */
  lookup(subject: string, format: SchemaFormat, schema: string): Promise<RegisteredSchema | undefined>;
  subjects(): Promise<string[]>;
  /** Every version of a subject, oldest first; empty when the subject is unknown. */
  versions(subject: string): Promise<RegisteredSchema[]>;
  /** Throws HERALD_UNKNOWN_SCHEMA when no schema has that id. */
  byId(id: number): Promise<RegisteredSchema>;
  /** The subject's mode, or undefined when only the registry's default applies. */
  getCompatibility(subject: string): Promise<CompatibilityMode | undefined>;
  setCompatibility(subject: string, mode: CompatibilityMode): Promise<void>;
  close?(): Promise<void>;
}
