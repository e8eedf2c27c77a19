import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Debian's chromium (playwright's own download cannot work on these machines): CHROMIUM_PATH, or
 * `chromium` on the PATH. Null when there is none, with why, so that the browser tests skip saying so.
 */
export function findChromium(): { path: string } | { path: null; reason: string } {
  const given = process.env.CHROMIUM_PATH;
  if (given)
    return existsSync(given) ? { path: given } : { path: null, reason: `CHROMIUM_PATH ${given} does not exist` };
  try {
    const path = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
    if (path) return { path };
  } catch {}
  return { path: null, reason: 'no chromium on the PATH: apt-get install -y chromium (.ci/run does)' };
}

export const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
