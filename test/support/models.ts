// Cached synthetic model folders for tests and benchmarks.
//
// Each folder is generated once into the cache dir (env TRIAGEM_TEST_MODELS_DIR, default
// <repo>/.cache/test-models, gitignored) and reused while its stamp matches the generator version.
// Generation goes to a temp folder that is renamed into place, so a crash or a concurrent process never
// leaves a half-written model under the final name.

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { COLOUR_MODEL_VERSION, DEFAULT_COLOUR_SEED, writeColourModel, type ColourModelOptions } from './synthetic/colour-model.js';
import { clipTokenizerDir, sharedDir, testModelsDir } from './synthetic/paths.js';
import { DEFAULT_VITB32_SEED, VITB32_VERSION, writeVitB32StandIn } from './synthetic/vitb32.js';

export { sharedDir, testModelsDir };

/**
 * - `clip`: Xenova CLIP layout, text tower takes `input_ids` only (like Xenova/clip-vit-base-patch32).
 * - `clip-attention-mask`: same, but the text tower also declares `attention_mask`.
 * - `siglip`: Xenova SigLIP layout (768-d `pooler_output`, fixed 64-token text, last-position pooling).
 * - `immich`: Immich layout (visual/ + textual/, batch 1, int32 `text`, L2-normalized `embedding`).
 */
export type ColourVariant = 'clip' | 'clip-attention-mask' | 'siglip' | 'immich';
export const COLOUR_VARIANTS: readonly ColourVariant[] = ['clip', 'clip-attention-mask', 'siglip', 'immich'];

const VARIANT_OPTIONS: Record<ColourVariant, ColourModelOptions> = {
  clip: {},
  'clip-attention-mask': { textInputs: ['input_ids', 'attention_mask'] },
  siglip: { family: 'siglip' },
  immich: { layout: 'immich' },
};

const STAMP_FILE = '.triagem-synthetic-stamp.json';

interface Stamp {
  generator: string;
  version: number;
  seed: number;
}

async function stampMatches(dir: string, expected: Stamp): Promise<boolean> {
  try {
    const stamp = JSON.parse(await readFile(join(dir, STAMP_FILE), 'utf8')) as Partial<Stamp>;
    return stamp.generator === expected.generator && stamp.version === expected.version && stamp.seed === expected.seed;
  } catch {
    return false;
  }
}

const inFlight = new Map<string, Promise<string>>();

/** Returns `<cache>/<name>`, generating it first unless a matching stamp is already there. */
function ensureGenerated(name: string, stamp: Stamp, generate: (dir: string) => void): Promise<string> {
  const cache = testModelsDir();
  const dir = join(cache, name);
  const key = `${dir}|${JSON.stringify(stamp)}`;
  const pending = inFlight.get(key);
  if (pending) return pending;
  const job = (async () => {
    if (await stampMatches(dir, stamp)) return dir;
    const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
    const tmp = join(cache, `.${name}.tmp-${tag}`);
    await mkdir(tmp, { recursive: true });
    try {
      generate(tmp);
      await writeFile(join(tmp, STAMP_FILE), `${JSON.stringify({ ...stamp, generatedAt: new Date().toISOString() }, null, 2)}\n`);
      if (existsSync(dir)) {
        if (await stampMatches(dir, stamp)) return dir; // another process finished first
        const stale = join(cache, `.${name}.stale-${tag}`);
        await rename(dir, stale).catch(() => undefined);
        await rm(stale, { recursive: true, force: true });
      }
      try {
        await rename(tmp, dir);
      } catch (error) {
        if (await stampMatches(dir, stamp)) return dir;
        throw error;
      }
      return dir;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  })();
  inFlight.set(key, job);
  job.catch(() => inFlight.delete(key));
  return job;
}

function requireTokenizer(): string {
  return clipTokenizerDir();
}

/** A deterministic colour model folder (see test/support/synthetic/colour-model.ts). */
export function colourModelDir(variant: ColourVariant = 'clip'): Promise<string> {
  const options = VARIANT_OPTIONS[variant];
  if (!options) return Promise.reject(new Error(`unknown colour model variant "${variant}"`));
  return ensureGenerated(`colour-${variant}`, { generator: `colour-model/${variant}`, version: COLOUR_MODEL_VERSION, seed: DEFAULT_COLOUR_SEED }, (dir) => {
    writeColourModel(dir, { ...options, tokenizerDir: requireTokenizer(), seed: DEFAULT_COLOUR_SEED });
  });
}

/**
 * Random-weight model with the real ViT-B/32 architecture and file sizes: fp32 graphs and their
 * dynamically quantized `_quantized` twins (~750 MB; benchmarks and TRIAGEM_TEST_STANDIN tests only).
 */
export function vitB32StandInDir(): Promise<string> {
  return ensureGenerated('vitb32-standin', { generator: 'vitb32-standin', version: VITB32_VERSION, seed: DEFAULT_VITB32_SEED }, (dir) => {
    writeVitB32StandIn(dir, { seed: DEFAULT_VITB32_SEED, tokenizerDir: requireTokenizer() });
  });
}
