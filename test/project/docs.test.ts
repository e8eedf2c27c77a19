import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { cliReference, errorReference, examplePattern, exampleText } from '../../scripts/gen-docs.ts';

const docs = new URL('../../docs/', import.meta.url);
const pages = readdirSync(docs).filter((f) => f.endsWith('.md'));
const read = (file: string) => readFileSync(new URL(file, docs), 'utf8');

describe('docs', () => {
  it('the CLI and error references are generated from the code (run `npm run docs`)', () => {
    assert.equal(read('cli.md'), cliReference());
    assert.equal(read('errors.md'), errorReference());
  });

  it('every example shown in the docs is, to the letter, a file the tests run', () => {
    let examples = 0;
    for (const page of pages) {
      // A marker the pattern does not match (no ```ts block after it) would never be checked.
      const markers = read(page).match(/<!-- example: /g)?.length ?? 0;
      assert.equal(
        [...read(page).matchAll(examplePattern)].length,
        markers,
        `${page}: an example marker without its ts block`,
      );
      for (const [, path, region, block] of read(page).matchAll(examplePattern)) {
        const expected = exampleText(path as string, region);
        assert.equal(block, expected, `${page}: example ${path}${region ? `#${region}` : ''} differs (npm run docs)`);
        examples++;
      }
    }
    assert.ok(examples >= 5, `only ${examples} examples found`);
  });

  it('every capability page has an example or a command', () => {
    const reference = new Set(['cli.md', 'errors.md', 'benchmarks.md', 'guarantees.md']);
    for (const page of pages.filter((p) => !reference.has(p))) {
      assert.match(read(page), /<!-- example: |```sh\n/, `${page} has no example`);
    }
  });
});
