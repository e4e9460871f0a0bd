// Tests that need data beyond the repository (the real-photo dev set in ../shared) run when it is
// there and are otherwise skipped *with a reason*: each skip is recorded here and the global
// teardown prints the list, so a lone clone's `npm test` says what it did not check.

import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, sharedDir } from './synthetic/paths.js';

export function skipLogFile(): string {
  return path.join(repoRoot(), '.cache', 'optional-skips.log');
}

/** The shared folder `sub` if present; otherwise null, with the skip recorded for the summary. */
export function optionalShared(sub: string, what: string): string | null {
  const dir = path.join(sharedDir(), sub);
  if (fs.existsSync(dir)) return dir;
  fs.mkdirSync(path.dirname(skipLogFile()), { recursive: true });
  fs.appendFileSync(skipLogFile(), `${what}: skipped, ${dir} does not exist (set TRIAGEM_SHARED_DIR to the shared data folder)\n`);
  return null;
}

/** Debian's Chromium, which the window's end-to-end tests drive; null (skip recorded) when absent. */
export function optionalChromium(what: string): string | null {
  const candidates = [process.env.TRIAGEM_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  const found = candidates.find((p) => fs.existsSync(p));
  if (found) return found;
  fs.mkdirSync(path.dirname(skipLogFile()), { recursive: true });
  fs.appendFileSync(skipLogFile(), `${what}: skipped, no Chromium at ${candidates.join(' or ')} (install it: apt-get install -y chromium, or set TRIAGEM_CHROMIUM)\n`);
  return null;
}
