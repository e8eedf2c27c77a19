// The decoding fuzz's messages (test/consume/decode-fuzz.test.ts): valid events mixed with random
// bytes, truncated Avro, wrong magic bytes, unknown schema ids, headers that are not UTF-8, huge
// bodies, wrong versions and CloudEvents structured-mode garbage, each with what the consumer must
// make of it. Generated from a seed, so that a failing run can be repeated exactly.
import { z } from 'zod';
import { defineEvent } from '../../src/index.ts';
import type { avroFormat } from '../../src/schemas/avro.ts';
import { uniqueName } from './env.ts';

/** mulberry32: a small seeded PRNG, so a failing run can be repeated exactly. */
export function prng(s: number) {
  let a = s >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] as T,
    bytes: (n: number) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
  };
}

export const Item = defineEvent({
  type: uniqueName('fuzz.item'), // the registry subject, new each run
  version: 2,
  schema: z.object({ n: z.number().int(), s: z.string() }),
  key: (p) => String(p.n % 50),
  // Version 1 named `s` `label`.
  upcasters: { 1: (v1: { n: number; label: string }) => ({ n: v1.n, s: v1.label }) },
  avro: {
    type: 'record',
    name: 'Item',
    fields: [
      { name: 'n', type: 'int' },
      { name: 's', type: 'string' },
    ],
  },
});

type Codes = readonly string[];
const MALFORMED = 'HERALD_MALFORMED_MESSAGE';
const UNDECODABLE = 'HERALD_UNDECODABLE_MESSAGE';
const UNKNOWN_SCHEMA = 'HERALD_UNKNOWN_SCHEMA';
const INVALID_PAYLOAD = 'HERALD_INVALID_PAYLOAD';
const NO_UPCAST = 'HERALD_NO_UPCAST_PATH';
const UNKNOWN_TYPE = 'HERALD_UNKNOWN_EVENT_TYPE';

/** One generated record: its headers may hold any bytes; `expect` is 'valid' or the codes its reason may carry. */
export interface Generated {
  kind: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: [string | Buffer, string | Buffer][];
  /** The event id a handler sees, for a valid one. */
  id?: string;
  expect: 'valid' | 'duplicate' | Codes;
}

/** Bytes that are not UTF-8: a lone continuation byte, an overlong form, a cut sequence, 0xff. */
const notUtf8 = (r: ReturnType<typeof prng>) =>
  Buffer.concat([
    Buffer.from(`v${r.int(1000)}`),
    r.pick([Buffer.from([0x80]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xe2, 0x82]), Buffer.from([0xff, 0xfe])]),
  ]);

/**
 * `total` messages for `topic`, from `seed`: each maker picked in proportion to its weight, and
 * now and then a valid event again (`expect: 'duplicate'`). With `codec` (a registry is up), Avro
 * cases too.
 */
export async function generateMessages(options: {
  seed: number;
  total: number;
  topic: string;
  codec: ReturnType<typeof avroFormat> | null;
}): Promise<Generated[]> {
  const { seed, total, topic, codec } = options;
  const r = prng(seed);
  const avroOn = codec !== null;
  const time = new Date().toISOString();
  let serial = 0;
  const newId = () => {
    const n = (serial++).toString(16).padStart(12, '0');
    return `0190${(seed % 0xffff).toString(16).padStart(4, '0')}-0000-7000-8000-${n}`;
  };

  /** A binary-mode CloudEvent's headers (Kafka binding), `over` replacing or adding some. */
  const ce = (id: string, version: string, over: Record<string, string | Buffer> = {}) => {
    const h: Record<string, string | Buffer> = {
      ce_specversion: '1.0',
      ce_id: id,
      ce_source: '/fuzz',
      ce_type: Item.type,
      ce_time: time,
      ce_dataversion: version,
      'content-type': 'application/json',
      ...over,
    };
    return Object.entries(h);
  };
  const payload = () => ({ n: r.int(1_000_000), s: r.bytes(r.int(12)).toString('base64') });
  const key = () => Buffer.from(`k${r.int(50)}`);
  const valid = (kind: string, make: (id: string) => Omit<Generated, 'kind' | 'id' | 'expect'>) => {
    const id = newId();
    return { kind, id, expect: 'valid' as const, ...make(id) };
  };
  const bad = (kind: string, expect: Codes, m: Omit<Generated, 'kind' | 'expect'>): Generated => ({
    kind,
    expect,
    ...m,
  });
  /** A valid Avro record of Item, framed as the relay frames it on Kafka. */
  const avroValue = async (id: string, p = payload()) => {
    const encoded = await (codec as NonNullable<typeof codec>).encode(
      {
        id,
        topic,
        key: 'k',
        value: Buffer.from(JSON.stringify(p)),
        headers: Object.fromEntries(ce(id, '2') as [string, string][]),
      },
      'kafka',
    );
    return { value: encoded.value, headers: Object.entries(encoded.headers) as [string, string][] };
  };
  const structured = (doc: unknown) => Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));
  const ceJson = 'application/cloudevents+json';
  const huge = () => 200_000 + r.int(700_000);

  const makers: [weight: number, make: () => Generated | Promise<Generated>][] = [
    // Valid events.
    [16, () => valid('binary v2', (id) => ({ key: key(), value: structured(payload()), headers: ce(id, '2') }))],
    [
      5,
      () =>
        valid('binary v1, upcast', (id) => ({
          key: key(),
          value: structured({ n: r.int(1000), label: 'old' }),
          headers: ce(id, '1'),
        })),
    ],
    [
      8,
      () =>
        valid('structured', (id) => ({
          key: key(),
          value: structured({
            specversion: '1.0',
            id,
            source: '/fuzz',
            type: Item.type,
            time,
            dataversion: '2',
            data: payload(),
          }),
          headers: [['content-type', ceJson]],
        })),
    ],
    [
      5,
      () =>
        valid('user header and key not UTF-8', (id) => ({
          key: notUtf8(r),
          value: structured(payload()),
          headers: [...ce(id, '2'), ['x-note', notUtf8(r)]],
        })),
    ],
    [
      0.1,
      () =>
        valid('huge payload', (id) => ({
          key: key(),
          value: structured({ n: 1, s: 'x'.repeat(huge()) }),
          headers: ce(id, '2'),
        })),
    ],
    ...(avroOn
      ? [
          [
            10,
            async (): Promise<Generated> => {
              const id = newId();
              return { kind: 'avro', id, expect: 'valid', key: key(), ...(await avroValue(id)) };
            },
          ] as [number, () => Promise<Generated>],
        ]
      : []),
    // Random bytes, with or without headers.
    [
      6,
      () =>
        bad('random bytes', avroOn ? [MALFORMED, UNDECODABLE, UNKNOWN_SCHEMA] : [MALFORMED], {
          key: r.next() < 0.3 ? null : r.bytes(r.int(20)),
          value: r.next() < 0.05 ? null : r.bytes(r.int(300)),
          headers: Array.from({ length: r.int(4) }, () => [`x-${r.int(100)}`, r.bytes(r.int(30))]),
        }),
    ],
    [
      6,
      () => {
        const id = newId();
        const body = r.bytes(1 + r.int(200));
        // A body of one digit is JSON: a number, which the schema refuses.
        const codes = [MALFORMED, INVALID_PAYLOAD, ...(avroOn ? [UNDECODABLE, UNKNOWN_SCHEMA] : [])];
        return bad('random body, CloudEvents headers', codes, {
          key: key(),
          value: body,
          headers: ce(id, '2', { 'content-type': r.pick(['application/json', 'application/avro', 'text/plain']) }),
        });
      },
    ],
    // Avro gone wrong (without a registry these are just bytes the JSON reader refuses).
    [
      3,
      async () => {
        const id = newId();
        const m = avroOn ? await avroValue(id) : { value: Buffer.from([0, 0, 0, 0, 1, 2, 0x61]), headers: ce(id, '2') };
        const cut = 1 + r.int(m.value.length - 1);
        return bad('truncated Avro', avroOn ? [UNDECODABLE] : [MALFORMED], {
          key: key(),
          value: m.value.subarray(0, m.value.length - cut),
          headers: m.headers,
        });
      },
    ],
    [
      3,
      async () => {
        const id = newId();
        const m = avroOn ? await avroValue(id) : { value: Buffer.from([0, 0, 0, 0, 1, 2, 0x61]), headers: ce(id, '2') };
        const value = Buffer.from(m.value);
        value[0] = 1 + r.int(255);
        return bad('wrong magic byte', avroOn ? [UNDECODABLE] : [MALFORMED], {
          key: key(),
          value,
          headers: ce(id, '2', { 'content-type': 'application/avro' }),
        });
      },
    ],
    [
      3,
      () => {
        const id = newId();
        const value = Buffer.concat([Buffer.from([0]), Buffer.alloc(4), Buffer.from([2, 2, 0x61])]);
        value.writeUInt32BE(2_000_000_000 + r.int(2 ** 31 - 2_000_000_000), 1);
        return bad('unknown schema id', avroOn ? [UNKNOWN_SCHEMA] : [MALFORMED], {
          key: key(),
          value,
          headers: ce(id, '2', { 'content-type': 'application/avro' }),
        });
      },
    ],
    // CloudEvents attributes that are not UTF-8: lossy text would make two ids one.
    [
      4,
      () => {
        const id = newId();
        const attribute = r.pick(['ce_id', 'ce_specversion', 'ce_type', 'ce_dataversion', 'ce_time', 'ce_source']);
        // Ids that differ only in bytes that are not UTF-8: read as text, they would be one id.
        const spoilt = Buffer.concat([Buffer.from(attribute === 'ce_id' ? 'fuzz-id-' : '1'), notUtf8(r)]);
        return bad('attribute not UTF-8', [MALFORMED], {
          key: key(),
          value: structured(payload()),
          headers: ce(id, '2', { [attribute]: spoilt }),
        });
      },
    ],
    // Wrong versions.
    [
      4,
      () => {
        const id = newId();
        const [version, codes] = r.pick([
          ['0', [MALFORMED]],
          ['-1', [MALFORMED]],
          ['1.5', [MALFORMED]],
          ['abc', [MALFORMED]],
          ['', [MALFORMED]],
          ['1e400', [MALFORMED]],
          ['0x2', [MALFORMED]],
          [' 2', [MALFORMED]],
          ['2.0', [MALFORMED]],
          ['3', [NO_UPCAST]],
          ['99', [NO_UPCAST]],
        ] as const);
        return bad(`version ${JSON.stringify(version)}`, codes, {
          key: key(),
          value: structured(payload()),
          headers: ce(id, version),
        });
      },
    ],
    // Structured-mode garbage.
    [
      8,
      () => {
        const id = newId();
        const base = { specversion: '1.0', id, source: '/fuzz', type: Item.type, time, dataversion: '2' };
        const [what, doc, codes] = r.pick<readonly [string, unknown, Codes]>([
          ['not JSON', `{"specversion":"1.0","id":"${id}"`, [MALFORMED]],
          ['null', 'null', [MALFORMED]],
          ['an array', '[1,2,3]', [MALFORMED]],
          ['a string', '"1.0"', [MALFORMED]],
          ['no id', { ...base, id: undefined, data: payload() }, [MALFORMED]],
          ['a numeric id', { ...base, id: 42, data: payload() }, [MALFORMED]],
          ['specversion 0.3', { ...base, specversion: '0.3', data: payload() }, [MALFORMED]],
          ['a time that is no time', { ...base, time: 'noon', data: payload() }, [MALFORMED]],
          ['no data', base, [INVALID_PAYLOAD]],
          ['data of the wrong shape', { ...base, data: { n: 'one', s: 2 } }, [INVALID_PAYLOAD]],
          ['an unknown type', { ...base, type: 'fuzz.nobody', data: payload() }, [UNKNOWN_TYPE]],
          ['a newer version', { ...base, dataversion: '7', data: payload() }, [NO_UPCAST]],
          [
            'deeply nested data',
            `{"specversion":"1.0","id":"${id}","source":"/f","type":"${Item.type}","data":${'['.repeat(50_000)}${']'.repeat(50_000)}}`,
            [INVALID_PAYLOAD],
          ],
          ['random bytes', r.bytes(r.int(200)).toString('latin1'), [MALFORMED]],
        ]);
        return bad(`structured: ${what}`, codes, {
          key: key(),
          value: structured(doc),
          headers: [['content-type', r.pick([ceJson, `${ceJson}; charset=utf-8`])]],
        });
      },
    ],
    // Other ways binary mode goes wrong.
    [
      4,
      () => {
        const id = newId();
        const [what, value, over, codes] = r.pick<readonly [string, Buffer | null, Record<string, string>, Codes]>([
          ['no specversion', structured(payload()), { ce_specversion: '' }, [MALFORMED]],
          ['an unknown type', structured(payload()), { ce_type: 'fuzz.nobody' }, [UNKNOWN_TYPE]],
          ['a payload of the wrong shape', structured({ n: 1.5 }), {}, [INVALID_PAYLOAD]],
          ['an empty body', Buffer.alloc(0), {}, [MALFORMED]],
          ['a tombstone', null, {}, [MALFORMED]],
          ['text/plain', Buffer.from('hello'), { 'content-type': 'text/plain' }, [MALFORMED]],
        ]);
        return bad(`binary: ${what}`, codes, { key: key(), value, headers: ce(id, '2', over) });
      },
    ],
    [
      0.1,
      () =>
        bad('huge garbage', [MALFORMED], {
          key: key(),
          value: Buffer.concat([Buffer.from('{'), r.bytes(huge())]),
          headers: ce(newId(), '2'),
        }),
    ],
  ];
  const weights = makers.reduce((s, [w]) => s + w, 0);
  const generated: Generated[] = [];
  for (let i = 0; i < total; i++) {
    // A valid event sent again now and then: the inbox must make the second copy a no-op.
    const earlier = generated.filter((g) => g.expect === 'valid');
    if (earlier.length > 0 && r.next() < 0.02) {
      generated.push({ ...r.pick(earlier), kind: 'the same event again', expect: 'duplicate' });
      continue;
    }
    // A maker picked in proportion to its weight.
    let x = r.next() * weights;
    let k = 0;
    while (k < makers.length - 1 && x >= (makers[k] as (typeof makers)[number])[0])
      x -= (makers[k++] as (typeof makers)[number])[0];
    generated.push(await (makers[k] as (typeof makers)[number])[1]());
  }
  return generated;
}
