import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createPostgresRegistry } from '../../src/schemas/postgres-registry.ts';
import { databaseUrl, freshSchema, type TestSchema, uniqueName } from '../support/env.ts';
import { registryUnavailable, registryUrl } from '../support/registry.ts';

const exec = promisify(execFile);

/**
 * `herald schema` as CI and a deploy run it, on the registry in PostgreSQL, with the examples of
 * docs/schemas.md (seed 003's entity events as Avro schemas); and on a Confluent-compatible
 * registry (Apicurio Registry, test/support/registry.ts) by its URL.
 */
describe('herald schema: push, check, list, show on the PostgreSQL registry', () => {
  let db: TestSchema;
  before(async () => {
    db = await freshSchema();
  });
  after(async () => {
    await db.drop();
  });
  const herald = async (...args: string[]) => {
    try {
      const { stdout } = await exec(process.execPath, ['src/cli/main.ts', 'schema', ...args], {
        env: { ...process.env, DATABASE_URL: databaseUrl, HERALD_SCHEMA: db.schema },
      });
      return { code: 0, stdout };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const v1 = '--definitions=examples/schemas/entity-events.ts';

  it('push registers each type v1 with its mode; pushing again changes nothing', async () => {
    const pushed = await herald('push', v1, '--json');
    assert.equal(pushed.code, 0, pushed.stderr);
    const report = JSON.parse(pushed.stdout);
    assert.equal(report.pushed, true);
    assert.deepEqual(
      report.subjects.map((s: { subject: string; format: string; mode: string; versions: { state: string }[] }) => [
        s.subject,
        s.format,
        s.mode,
        s.versions.map((v) => v.state),
      ]),
      [
        ['dictamesh.entity.created', 'AVRO', 'BACKWARD', ['new']],
        ['dictamesh.entity.deleted', 'AVRO', 'BACKWARD', ['new']],
        ['dictamesh.entity.updated', 'AVRO', 'BACKWARD', ['new']],
      ],
    );
    const again = JSON.parse((await herald('push', v1, '--json')).stdout);
    assert.deepEqual(
      again.subjects.map((s: { versions: { state: string }[] }) => s.versions[0]?.state),
      ['registered', 'registered', 'registered'],
    );
    const registry = createPostgresRegistry({ db: databaseUrl, schema: db.schema });
    try {
      assert.equal((await registry.versions('dictamesh.entity.created')).length, 1);
      assert.equal(await registry.getCompatibility('dictamesh.entity.created'), 'BACKWARD');
    } finally {
      await registry.close?.();
    }
  });

  it('check exits 1 naming the field and the rule of a breaking change; push then registers nothing', async () => {
    const breaking = await herald('check', '--definitions=examples/schemas/entity-events-v2-breaking.ts');
    assert.equal(breaking.code, 1);
    assert.match(
      breaking.stdout,
      /FAIL dictamesh\.entity\.created \(AVRO, BACKWARD\): v1 registered, v2 new\n\s+owner: READER_FIELD_MISSING_DEFAULT_VALUE \(the new schema cannot read v1's events\)/,
    );
    // docs/schemas.md shows this report as it is.
    const page = readFileSync(new URL('../../docs/schemas.md', import.meta.url), 'utf8');
    assert.ok(page.includes(`\`\`\`text\n${breaking.stdout}\`\`\``), `docs/schemas.md must show:\n${breaking.stdout}`);
    const refused = await herald('push', '--definitions=examples/schemas/entity-events-v2-breaking.ts', '--json');
    assert.equal(refused.code, 1);
    assert.equal(JSON.parse(refused.stdout).pushed, false);
    const list = JSON.parse((await herald('list', '--json')).stdout);
    assert.deepEqual(
      list.map((s: { subject: string; latest: number }) => [s.subject, s.latest]),
      [
        ['dictamesh.entity.created', 1],
        ['dictamesh.entity.deleted', 1],
        ['dictamesh.entity.updated', 1],
      ],
    );
  });

  it('the fixed change passes check, push registers v2, show prints it', async () => {
    const fixed = '--definitions=examples/schemas/entity-events-v2.ts';
    const check = await herald('check', fixed);
    assert.equal(check.code, 0);
    assert.match(check.stdout, /^ok {3}dictamesh\.entity\.created \(AVRO, BACKWARD\): v1 registered, v2 new$/m);
    const pushed = JSON.parse((await herald('push', fixed, '--json')).stdout);
    const created = pushed.subjects.find((s: { subject: string }) => s.subject === 'dictamesh.entity.created');
    assert.deepEqual(
      created.versions.map((v: { version: number; state: string }) => [v.version, v.state]),
      [
        [1, 'registered'],
        [2, 'new'],
      ],
    );
    const shown = JSON.parse((await herald('show', 'dictamesh.entity.created', '--json')).stdout);
    assert.equal(shown.version, 2);
    assert.equal(shown.id, created.versions[1].id);
    assert.equal(shown.schema.fields.at(-1).name, 'owner');
    const text = await herald('show', 'dictamesh.entity.created', '1');
    assert.match(text.stdout, /^dictamesh\.entity\.created v1 \(id \d+, AVRO\)/);
    // Editing a registered version in place is caught whatever the mode.
    const edited = await herald('check', '--definitions=examples/schemas/entity-events-v2-breaking.ts', '--json');
    assert.equal(edited.code, 1);
    const issues = JSON.parse(edited.stdout).subjects[0].issues.map(
      (i: { path: string; rule: string; against: number }) => `${i.path} ${i.rule} v${i.against}`,
    );
    // Checked against the versions before it, as if new, and refused for being changed.
    assert.deepEqual(issues, ['owner READER_FIELD_MISSING_DEFAULT_VALUE v1', '(root) REGISTERED_VERSION_CHANGED v2']);
    const editedText = (await herald('check', '--definitions=examples/schemas/entity-events-v2-breaking.ts')).stdout;
    assert.match(
      editedText,
      /\(root\): REGISTERED_VERSION_CHANGED \(v2 is already registered\): v2 is registered with another schema; give the change a new version \(v3\) instead/,
    );
  });

  it('--registry <url>: the same check and push on a Confluent-compatible registry (Apicurio)', async (t) => {
    const url = await registryUrl();
    if (!url) return t.skip(`no registry: ${registryUnavailable}`);
    // The registry is shared by every run: a type of this run's own, in a module of its own.
    const type = uniqueName('cli.entity.created');
    const dir = new URL(`../../.scratch/${type}/`, import.meta.url);
    mkdirSync(dir, { recursive: true });
    const module = (version: number, owner: string) => `import { z } from 'zod';
import { defineEvent } from 'herald';
const fields = [{ name: 'entity_id', type: 'string' }];
export const V1 = defineEvent({ type: '${type}', version: 1, schema: z.object({ entity_id: z.string() }), key: (p) => p.entity_id,
  avro: { type: 'record', name: 'EntityCreatedEvent', fields } });
${
  version === 2
    ? `export const V2 = defineEvent({ type: '${type}', version: 2, schema: z.object({ entity_id: z.string(), owner: z.string() }), key: (p) => p.entity_id,
  avro: { type: 'record', name: 'EntityCreatedEvent', fields: [...fields, ${owner}] } });`
    : ''
}
`;
    const write = (name: string, text: string) => {
      const file = new URL(name, dir);
      writeFileSync(file, text);
      return `--definitions=${file.pathname}`;
    };
    try {
      const v1 = write('v1.ts', module(1, ''));
      const breaking = write('breaking.ts', module(2, "{ name: 'owner', type: 'string' }"));
      const fixed = write('fixed.ts', module(2, "{ name: 'owner', type: 'string', default: 'unassigned' }"));
      const on = `--registry=${url}`;
      const pushed = await herald('push', v1, on, '--json');
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(JSON.parse(pushed.stdout).subjects[0].versions[0].state, 'new');
      const refused = await herald('check', breaking, on);
      assert.equal(refused.code, 1);
      assert.match(
        refused.stdout,
        /FAIL .+ \(AVRO, BACKWARD\): v1 registered, v2 new\n\s+owner: READER_FIELD_MISSING_DEFAULT_VALUE \(the new schema cannot read v1's events\)/,
      );
      const accepted = await herald('push', fixed, on, '--json');
      assert.equal(accepted.code, 0, accepted.stderr);
      const listed = JSON.parse((await herald('list', on, '--json')).stdout);
      assert.deepEqual(
        listed.filter((s: { subject: string }) => s.subject === type).map((s: { latest: number }) => s.latest),
        [2],
      );
      const shown = JSON.parse((await herald('show', type, on, '--json')).stdout);
      assert.equal(shown.version, 2);
      assert.equal(shown.compatibility, 'BACKWARD');
      assert.equal(shown.schema.fields.at(-1).default, 'unassigned');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad input: a missing --definitions, an unknown mode, a registry that is not one and an unknown type are clear errors', async () => {
    const none = await herald('check');
    assert.equal(none.code, 2);
    assert.match(none.stderr ?? '', /HERALD_INVALID_CONFIG: definitions: is required/);
    const badMode = await herald('check', v1, '--compatibility=SIDEWAYS');
    assert.match(badMode.stderr ?? '', /compatibility: SIDEWAYS is not one of NONE, BACKWARD/);
    const notOne = await herald('list', '--registry=ftp://registry.example');
    assert.equal(notOne.code, 2);
    assert.match(
      notOne.stderr ?? '',
      /registry: must be herald or the http\(s\) URL of a Confluent-compatible registry/,
    );
    const withPassword = await herald('list', '--registry=https://ci:s3cret-pw@registry.example');
    assert.equal(withPassword.code, 2);
    assert.match(withPassword.stderr ?? '', /url: must not hold credentials/);
    assert.doesNotMatch(withPassword.stderr ?? '', /s3cret-pw/);
    const unknown = await herald('show', 'no.such.type');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr ?? '', /HERALD_UNKNOWN_SCHEMA/);
  });
});
