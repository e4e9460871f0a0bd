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
