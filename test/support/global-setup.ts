// vitest globalSetup: generate the synthetic colour models once, before any test worker starts, so
// tests only ever read finished, cached folders, and build the CLI. The ViT-B/32 stand-in is left to
// the benchmarks.
// At the end, say which optional tests were skipped and why (see optional.ts).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { COLOUR_VARIANTS, colourModelDir } from './models.js';
import { skipLogFile } from './optional.js';
import { repoRoot } from './synthetic/paths.js';

export default async function setup(): Promise<() => void> {
  fs.rmSync(skipLogFile(), { force: true });
  // Tests that start `bin/triagem.js` as a real process run the built CLI, as users do.
  execFileSync(process.execPath, [path.join(repoRoot(), 'scripts', 'build-cli.mjs')], { stdio: 'inherit' });
  for (const variant of COLOUR_VARIANTS) await colourModelDir(variant);
  return () => {
    const recorded = fs.existsSync(skipLogFile()) ? fs.readFileSync(skipLogFile(), 'utf8').split('\n').filter(Boolean) : [];
    const lines = [...new Set(recorded)];
    if (process.env.TRIAGEM_TEST_STANDIN !== '1') {
      lines.push('ViT-B/32 stand-in tests: skipped, set TRIAGEM_TEST_STANDIN=1 to generate the ~600 MB stand-in and run them');
    }
    process.stdout.write(`\nOptional tests skipped (${lines.length} groups):\n${lines.map((l) => `  - ${l}`).join('\n')}\n`);
  };
}
