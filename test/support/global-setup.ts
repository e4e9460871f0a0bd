// vitest globalSetup: generate the synthetic colour models once, before any test worker starts, so
// tests only ever read finished, cached folders. The ViT-B/32 stand-in is left to the benchmarks.

import { COLOUR_VARIANTS, colourModelDir } from './models.js';

export default async function setup(): Promise<void> {
  for (const variant of COLOUR_VARIANTS) await colourModelDir(variant);
}
