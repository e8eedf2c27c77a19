// The README's "Where things are" table lists src/'s folders from the top (the CLI) to the bottom
// (config): a module may import from its own folder and from folders below its own, never above.
// This keeps each common helper in the folder a reader would look in, and the picture true.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;
const src = join(root, 'src');

/** The folders of src/ in the README's order, top first. */
function layers(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Where things are'));
  return [...table.matchAll(/^\| `src\/([a-z]+)\/` \|/gm)].map((m) => m[1] as string);
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The folder of src/ a file sits in, or '' for a file at src/'s root. */
const folderOf = (file: string) => {
  const parts = relative(src, file).split('/');
  return parts.length > 1 ? (parts[0] as string) : '';
};

describe("src/ follows the README's picture", () => {
  const order = layers();
  it('lists every folder of src/ once', () => {
    const folders = readdirSync(src, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    assert.deepEqual([...order].sort(), folders);
  });

  it('no module imports a folder above its own', () => {
    const rank = new Map(order.map((f, i) => [f, i]));
    const wrong: string[] = [];
    for (const file of sources(src)) {
      const from = folderOf(file);
      // index.ts is the package's front door: it re-exports from everywhere.
      if (relative(src, file) === 'index.ts') continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^(?:import|export)[^'"]*from '(\.[^']+)'/gm)) {
        const target = join(file, '..', m[1] as string);
        const to = folderOf(target);
        if (to === from) continue;
        // Root files (errors.ts, optional.ts) are the bottom: they import no folder, any folder imports them.
        const fromRank = from === '' ? Number.POSITIVE_INFINITY : (rank.get(from) ?? -1);
        const toRank = to === '' ? Number.POSITIVE_INFINITY : (rank.get(to) ?? -1);
        if (toRank <= fromRank) wrong.push(`${relative(src, file)} imports ${relative(src, target)}`);
      }
    }
    assert.deepEqual(wrong, [], `imports against the README's order (${order.join(' > ')})`);
  });
});
