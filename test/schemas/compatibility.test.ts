import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCompatibility } from '../../src/schemas/compatibility.ts';
import { type CompatibilityMode, compatibilityModes, type SchemaFormat } from '../../src/schemas/registry.ts';

type Break = { path: string; rule: string };
interface Change {
  name: string;
  format: SchemaFormat;
  /** Earlier versions, oldest first, then the new one. */
  versions: object[];
  /** What BACKWARD (new reads old) and FORWARD (old reads new) find against the last version. */
  backward: Break[];
  forward: Break[];
  /** The same against every earlier version (the _TRANSITIVE modes); the non-transitive by default. */
  backwardTransitive?: Break[];
  forwardTransitive?: Break[];
}

const obj = (properties: Record<string, object>, required: string[]) => ({ type: 'object', properties, required });
const id = { type: 'string' };
const amount = { type: 'number' };
const status = { type: 'string', enum: ['open', 'paid'] };
const json1 = obj({ id, amount, status }, ['id', 'amount']);

const record = (fields: object[]) => ({ type: 'record', name: 'Payment', namespace: 'shop', fields });
const avroId = { name: 'id', type: 'string' };
const avroAmount = { name: 'amount', type: 'double' };
const avroStatus = { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['OPEN', 'PAID'] } };
const avro1 = record([avroId, avroAmount, avroStatus]);

const changes: Change[] = [
  {
    name: 'add an optional property',
    format: 'JSON',
    versions: [json1, obj({ id, amount, status, note: { type: 'string' } }, ['id', 'amount'])],
    backward: [],
    forward: [],
  },
  {
    name: 'add a required property without default',
    format: 'JSON',
    versions: [json1, obj({ id, amount, status, currency: { type: 'string' } }, ['id', 'amount', 'currency'])],
    backward: [{ path: 'currency', rule: 'REQUIRED_PROPERTY_ADDED' }],
    forward: [],
  },
  {
    name: 'add a required property with a default',
    format: 'JSON',
    versions: [
      json1,
      obj({ id, amount, status, currency: { type: 'string', default: 'EUR' } }, ['id', 'amount', 'currency']),
    ],
    backward: [],
    forward: [],
  },
  {
    name: 'remove a required property',
    format: 'JSON',
    versions: [json1, obj({ id, status }, ['id'])],
    backward: [],
    forward: [{ path: 'amount', rule: 'REQUIRED_PROPERTY_REMOVED' }],
  },
  {
    name: 'narrow a type (number to integer)',
    format: 'JSON',
    versions: [json1, obj({ id, amount: { type: 'integer' }, status }, ['id', 'amount'])],
    backward: [{ path: 'amount', rule: 'TYPE_NARROWED' }],
    forward: [],
  },
  {
    name: 'widen an enum',
    format: 'JSON',
    versions: [
      json1,
      obj({ id, amount, status: { type: 'string', enum: ['open', 'paid', 'void'] } }, ['id', 'amount']),
    ],
    backward: [],
    forward: [{ path: 'status', rule: 'ENUM_WIDENED' }],
  },
  {
    name: 'change a type (number to string)',
    format: 'JSON',
    versions: [json1, obj({ id, amount: { type: 'string' }, status }, ['id', 'amount'])],
    backward: [{ path: 'amount', rule: 'TYPE_CHANGED' }],
    forward: [{ path: 'amount', rule: 'TYPE_CHANGED' }],
  },
  {
    name: 'drop an optional property, then bring it back as another type (only the transitive modes see it)',
    format: 'JSON',
    versions: [obj({ id, amount }, ['id']), obj({ id }, ['id']), obj({ id, amount: { type: 'string' } }, ['id'])],
    backward: [],
    forward: [],
    backwardTransitive: [{ path: 'amount', rule: 'TYPE_CHANGED' }],
    forwardTransitive: [{ path: 'amount', rule: 'TYPE_CHANGED' }],
  },
  {
    name: 'add a field with a default',
    format: 'AVRO',
    versions: [avro1, record([avroId, avroAmount, avroStatus, { name: 'currency', type: 'string', default: 'EUR' }])],
    backward: [],
    forward: [],
  },
  {
    name: 'add a field without default',
    format: 'AVRO',
    versions: [avro1, record([avroId, avroAmount, avroStatus, { name: 'currency', type: 'string' }])],
    backward: [{ path: 'currency', rule: 'READER_FIELD_MISSING_DEFAULT_VALUE' }],
    forward: [],
  },
  {
    name: 'remove a field without default',
    format: 'AVRO',
    versions: [avro1, record([avroId, avroStatus])],
    backward: [],
    forward: [{ path: 'amount', rule: 'READER_FIELD_MISSING_DEFAULT_VALUE' }],
  },
  {
    name: 'promote int to long',
    format: 'AVRO',
    versions: [record([avroId, { name: 'qty', type: 'int' }]), record([avroId, { name: 'qty', type: 'long' }])],
    backward: [],
    forward: [{ path: 'qty', rule: 'TYPE_MISMATCH' }],
  },
  {
    name: 'add an enum symbol',
    format: 'AVRO',
    versions: [
      avro1,
      record([
        avroId,
        avroAmount,
        { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['OPEN', 'PAID', 'VOID'] } },
      ]),
    ],
    backward: [],
    forward: [{ path: 'status', rule: 'MISSING_ENUM_SYMBOLS' }],
  },
  {
    name: 'change a type (double to string)',
    format: 'AVRO',
    versions: [avro1, record([avroId, { name: 'amount', type: 'string' }, avroStatus])],
    backward: [{ path: 'amount', rule: 'TYPE_MISMATCH' }],
    forward: [{ path: 'amount', rule: 'TYPE_MISMATCH' }],
  },
  {
    name: 'drop a defaulted field, then bring it back as another type (only the transitive modes see it)',
    format: 'AVRO',
    versions: [
      record([avroId, { name: 'amount', type: 'double', default: 0 }]),
      record([avroId]),
      record([avroId, { name: 'amount', type: 'string', default: '' }]),
    ],
    backward: [],
    forward: [],
    backwardTransitive: [{ path: 'amount', rule: 'TYPE_MISMATCH' }],
    forwardTransitive: [{ path: 'amount', rule: 'TYPE_MISMATCH' }],
  },
];

function expected(change: Change, mode: CompatibilityMode): Break[] {
  const transitive = mode.endsWith('_TRANSITIVE');
  const b = transitive ? (change.backwardTransitive ?? change.backward) : change.backward;
  const f = transitive ? (change.forwardTransitive ?? change.forward) : change.forward;
  if (mode.startsWith('BACKWARD')) return b;
  if (mode.startsWith('FORWARD')) return f;
  if (mode.startsWith('FULL')) return [...b, ...f];
  return [];
}

describe('compatibility: every mode x JSON Schema and Avro x passing and failing changes', () => {
  for (const format of ['JSON', 'AVRO'] as const) {
    for (const mode of compatibilityModes) {
      it(`${format} ${mode}`, async () => {
        let passing = 0;
        let failing = 0;
        for (const change of changes.filter((c) => c.format === format)) {
          const earlier = change.versions
            .slice(0, -1)
            .map((schema, i) => ({ version: i + 1, schema: JSON.stringify(schema) }));
          const candidate = JSON.stringify(change.versions.at(-1));
          const report = await checkCompatibility(format, mode, candidate, earlier);
          const want = expected(change, mode);
          assert.deepEqual(
            report.issues.map((i) => ({ path: i.path, rule: i.rule })),
            want,
            `${change.name} under ${mode}: ${JSON.stringify(report.issues)}`,
          );
          assert.equal(report.compatible, want.length === 0);
          if (want.length) failing++;
          else passing++;
        }
        // Each mode sees at least one passing change; every mode but NONE at least one failing.
        assert.ok(passing > 0);
        assert.equal(failing > 0, mode !== 'NONE');
      });
    }
  }

  it('a failed check names the field, the rule and the version it breaks', async () => {
    const report = await checkCompatibility(
      'JSON',
      'BACKWARD_TRANSITIVE',
      obj({ id, amount, lines: { type: 'array', items: obj({ sku: { type: 'integer' } }, ['sku']) } }, ['id']),
      [
        {
          version: 1,
          schema: obj({ id, amount, lines: { type: 'array', items: obj({ sku: { type: 'string' } }, ['sku']) } }, [
            'id',
          ]),
        },
      ],
    );
    assert.equal(report.compatible, false);
    assert.deepEqual(report.issues, [
      {
        path: 'lines.[].sku',
        rule: 'TYPE_CHANGED',
        message: "lines.[].sku: the writer's string is not a type the reader takes (integer)",
        against: 1,
        direction: 'BACKWARD',
      },
    ]);
  });

  it('nested Avro records are walked to the field', async () => {
    const address = (zip: string) => ({
      name: 'address',
      type: { type: 'record', name: 'Address', fields: [{ name: 'zip', type: zip }] },
    });
    const report = await checkCompatibility('AVRO', 'FULL', record([avroId, address('int')]), [
      { version: 1, schema: record([avroId, address('string')]) },
    ]);
    assert.deepEqual(
      report.issues.map((i) => `${i.direction} ${i.path} ${i.rule}`),
      ['BACKWARD address.zip TYPE_MISMATCH', 'FORWARD address.zip TYPE_MISMATCH'],
    );
  });
});
