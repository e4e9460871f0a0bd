import path from 'node:path';
import { TriagemError } from '../errors.js';
import { readModelFolder, type ConcretePrecision, type ModelFolderSpec } from './layout.js';
import { loadFromSpec } from './model.js';
import type { ModelFamily, ModelLayout } from './types.js';

export interface ModelSummary {
  dir: string;
  layout: ModelLayout;
  family: ModelFamily;
  dim: number;
  imageSize: number;
  contextLength: number;
  /** Precisions for which both a vision and a text graph exist. */
  precisions: ConcretePrecision[];
  /** Every file the model needs, relative to `dir` (configs, tokenizer, graphs). */
  files: string[];
}

/**
 * Proves a folder is a usable model before it is installed: configs parse, the tokenizer loads, and every
 * graph opens on CPU, declares an input/output contract we know how to feed, and produces embeddings of
 * one shared width when run. Any failure throws TriagemError naming the file and the reason.
 */
export async function validateModelFolder(dir: string): Promise<ModelSummary> {
  const spec = readModelFolder(dir);
  const precisions = (Object.keys(spec.vision) as ConcretePrecision[]).filter((p) => spec.text[p]);
  // A folder may pair e.g. quantized vision with fp32 text; each graph is still checked below.
  const visionOnly = (Object.keys(spec.vision) as ConcretePrecision[]).filter((p) => !spec.text[p]);
  const textOnly = (Object.keys(spec.text) as ConcretePrecision[]).filter((p) => !spec.vision[p]);
  let dim = 0;
  let contextLength = 0;
  const check = async (vision: ConcretePrecision, text: ConcretePrecision) => {
    const narrowed: ModelFolderSpec = { ...spec, vision: { [vision]: spec.vision[vision] }, text: { [text]: spec.text[text] } };
    // A loaded model runs a probe through each tower, which is what catches graphs that open but
    // produce nothing usable.
    const model = await loadFromSpec(narrowed, { device: 'cpu', precision: vision === text ? vision : 'auto', threads: 1 });
    try {
      const [t] = await model.encodeTexts(['a photo']);
      if (t.length !== model.info.dim || t.some((x) => !Number.isFinite(x))) {
        throw new TriagemError('text graph produced non-finite embeddings', 'bad-contract', path.join(dir, spec.text[text] ?? ''));
      }
      if (dim && model.info.dim !== dim) {
        throw new TriagemError(`embedding width ${model.info.dim} differs from the other graphs (${dim})`, 'bad-contract', path.join(dir, spec.vision[vision] ?? ''));
      }
      dim = model.info.dim;
      contextLength = model.info.text.contextLength;
    } finally {
      await model.close();
    }
  };
  for (const p of precisions) await check(p, p);
  const anyText = (Object.keys(spec.text) as ConcretePrecision[])[0];
  const anyVision = (Object.keys(spec.vision) as ConcretePrecision[])[0];
  for (const p of visionOnly) await check(p, anyText);
  for (const p of textOnly) await check(anyVision, p);
  if (!dim) throw new TriagemError('no usable pair of vision and text graphs', 'not-a-model', dir);

  const graphs = [...Object.values(spec.vision), ...Object.values(spec.text)].filter((f): f is string => Boolean(f));
  return {
    dir,
    layout: spec.layout,
    family: spec.family,
    dim,
    imageSize: spec.image.size,
    contextLength,
    precisions: precisions.length ? precisions : [...new Set([...visionOnly, ...textOnly])],
    files: [...spec.configFiles, ...graphs],
  };
}
