import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type } from 'arktype';
import * as v from 'valibot';
import { z } from 'zod';
import type { StandardSchemaV1 } from '../../src/events/standard-schema.ts';
import { defineEvent } from '../../src/index.ts';
import { deriveJsonSchema } from '../../src/schemas/json-schema.ts';

const define = <S extends StandardSchemaV1>(schema: S, extra: { jsonSchema?: Record<string, unknown> } = {}) =>
  defineEvent({ type: 'shop.order.placed', version: 2, schema, key: () => 'k', ...extra });

const shape = (s: Record<string, unknown>) => ({
  type: s.type,
  properties: Object.keys(s.properties as object).sort(),
  required: s.required,
});

describe('JSON Schema of an event type and version', () => {
  it('is derived from zod 4, valibot and arktype schemas alike', async () => {
    const want = { type: 'object', properties: ['amount', 'note', 'orderId'], required: ['orderId', 'amount'] };
    const fromZod = await deriveJsonSchema(
      define(z.object({ orderId: z.string(), amount: z.number(), note: z.string().optional() })),
    );
    const fromValibot = await deriveJsonSchema(
      define(v.object({ orderId: v.string(), amount: v.number(), note: v.optional(v.string()) })),
    );
    const fromArktype = await deriveJsonSchema(
      define(type({ orderId: 'string', amount: 'number', 'note?': 'string' })),
    );
    for (const derived of [fromZod, fromValibot, fromArktype]) {
      assert.deepEqual(
        { ...shape(derived), required: [...(derived.required as string[])].sort() },
        {
          ...want,
          required: [...want.required].sort(),
        },
      );
    }
    // The input side: zod leaves the object open, so adding a field later is not a break.
    assert.equal(fromZod.additionalProperties, undefined);
  });

  it('is the jsonSchema given on the definition when there is one', async () => {
    const jsonSchema = { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] };
    assert.deepEqual(await deriveJsonSchema(define(z.object({ orderId: z.string() }), { jsonSchema })), jsonSchema);
  });

  it('is a typed error when the schema library emits none', async () => {
    const opaque: StandardSchemaV1<{ orderId: string }> = {
      '~standard': { version: 1, vendor: 'handmade', validate: (value) => ({ value: value as { orderId: string } }) },
    };
    await assert.rejects(deriveJsonSchema(define(opaque)), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'HERALD_NO_JSON_SCHEMA');
      assert.match(error.message, /shop\.order\.placed v2: no JSON Schema can be derived from its handmade schema/);
      return true;
    });
  });
});
