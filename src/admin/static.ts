import { readdir, readFile } from 'node:fs/promises';
import type { HttpAnswer } from '../observe/http.ts';

/** The dashboard's files: plain ES modules, CSS and HTML, shipped in the package (no build step). */
const folder = new URL('../../dashboard/', import.meta.url);

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

// The page builds its charts as inline SVG through the DOM and loads nothing from elsewhere.
const headers = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * Answers `/dashboard/<file>` from the folder's own listing, read once: a name not in it (a `..`
 * included) is simply not found.
 */
export function createStaticFiles() {
  let files: Promise<Map<string, { type: string; body: Buffer }>> | undefined;
  const load = async () => {
    const out = new Map<string, { type: string; body: Buffer }>();
    for (const name of await readdir(folder)) {
      const ext = name.slice(name.lastIndexOf('.'));
      const type = types[ext];
      if (type) out.set(name, { type, body: await readFile(new URL(name, folder)) });
    }
    return out;
  };
  return async (name: string): Promise<HttpAnswer | null> => {
    files ??= load();
    const file = (await files).get(name === '' ? 'index.html' : name);
    if (!file) return null;
    return { status: 200, contentType: file.type, body: file.body, headers };
  };
}
