// Where synthetic-model generation reads its inputs from and writes to.

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureClipTokenizerDir } from './clip-tokenizer.js';

/** The repository root, found relative to this file (test/support/synthetic/). */
export function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
}

/** Read-only shared data: env TRIAGEM_SHARED_DIR, else `<repo>/../shared`. */
export function sharedDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TRIAGEM_SHARED_DIR ? resolve(env.TRIAGEM_SHARED_DIR) : resolve(repoRoot(), '..', 'shared');
}

/** The real OpenAI CLIP tokenizer files (no weights), derived from the committed BPE vocabulary. */
export function clipTokenizerDir(): string {
  return ensureClipTokenizerDir(join(repoRoot(), '.cache'));
}

/** Generated test models: env TRIAGEM_TEST_MODELS_DIR, else `<repo>/.cache/test-models` (gitignored). */
export function testModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TRIAGEM_TEST_MODELS_DIR ? resolve(env.TRIAGEM_TEST_MODELS_DIR) : join(repoRoot(), '.cache', 'test-models');
}
