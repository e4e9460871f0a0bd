import type { ClipModel } from '../models/types.js';
import { promptsForLabel } from './templates.js';

/**
 * One embedding per label: the normalized mean of the label's prompt embeddings. All prompts go
 * to the text tower in one batched call, so ten labels × four templates cost one short run.
 */
export async function encodeLabels(
  model: ClipModel,
  labels: readonly string[],
  templates: readonly string[],
): Promise<Float32Array[]> {
  const prompts = labels.map((label) => promptsForLabel(label, templates));
  const flat = prompts.flat();
  const encoded = await model.encodeTexts(flat);
  const out: Float32Array[] = [];
  let next = 0;
  for (const group of prompts) {
    const dim = encoded[next].length;
    const mean = new Float32Array(dim);
    for (let i = 0; i < group.length; i++) {
      const e = encoded[next++];
      for (let d = 0; d < dim; d++) mean[d] += e[d];
    }
    out.push(normalize(mean));
  }
  return out;
}

export function normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  const norm = Math.sqrt(sum);
  // A zero vector (opposite prompts cancelling exactly) stays zero rather than becoming NaN.
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}
