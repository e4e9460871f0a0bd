import type { Scoring } from '../models/types.js';

/** Row-major label matrix: `labels` rows of `dim` floats, each L2-normalized. */
export interface LabelMatrix {
  count: number;
  dim: number;
  data: Float32Array;
}

export function labelMatrix(embeddings: readonly Float32Array[]): LabelMatrix {
  const count = embeddings.length;
  const dim = count > 0 ? embeddings[0].length : 0;
  const data = new Float32Array(count * dim);
  embeddings.forEach((e, i) => {
    if (e.length !== dim) throw new Error(`label embedding ${i} has ${e.length} dimensions, expected ${dim}`);
    data.set(e, i * dim);
  });
  return { count, dim, data };
}

/**
 * Scores of `rows` image embeddings (row-major, L2-normalized) against every label, using the
 * model family's own rule: CLIP softmax over scaled cosines, SigLIP independent sigmoids with a
 * bias. This is the same arithmetic as `ClipModel.scoreLabels`, done in one pass over the whole
 * matrix so 100k stored embeddings score in well under a second instead of 100k small calls.
 * Returns `rows × count` scores, row-major.
 */
export function scoreMatrix(
  images: Float32Array,
  rows: number,
  labels: LabelMatrix,
  scoring: Scoring,
): Float32Array {
  return applyScoring(cosineMatrix(images, rows, labels), labels.count, scoring);
}

/**
 * The model family's scoring rule applied in place to a `count`-wide matrix of cosines (or of
 * cosine-scale blends, as few-shot labels make): softmax or sigmoid of `cos × scale + bias`.
 */
export function applyScoring(out: Float32Array, count: number, scoring: Scoring): Float32Array {
  const scale = scoring.logitScale;
  const bias = scoring.logitBias;
  if (scoring.kind === 'sigmoid') {
    for (let i = 0; i < out.length; i++) out[i] = 1 / (1 + Math.exp(-(out[i] * scale + bias)));
    return out;
  }
  const logits = new Float64Array(count);
  for (let o = 0; o < out.length; o += count) {
    let max = -Infinity;
    for (let k = 0; k < count; k++) {
      const l = out[o + k] * scale + bias;
      logits[k] = l;
      if (l > max) max = l;
    }
    let sum = 0;
    for (let k = 0; k < count; k++) {
      const e = Math.exp(logits[k] - max);
      logits[k] = e;
      sum += e;
    }
    for (let k = 0; k < count; k++) out[o + k] = logits[k] / sum;
  }
  return out;
}

/**
 * Dot products of every image row with every label row. Blocked four images × two labels per
 * pass: each loaded value feeds two (image) or four (label) multiply-adds and the eight sums stay
 * in registers. V8 does not vectorize these loops, so cutting loads per multiply-add is what
 * counts: this shape measured ~3× faster than one dot product at a time on 100k × 512 × 10.
 */
export function cosineMatrix(images: Float32Array, rows: number, labels: LabelMatrix): Float32Array {
  const { count, dim, data: text } = labels;
  if (images.length < rows * dim) throw new Error(`image matrix holds ${images.length} floats, need ${rows * dim}`);
  const out = new Float32Array(rows * count);
  const c2 = 2 * count;
  const c3 = 3 * count;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const b0 = r * dim;
    const b1 = b0 + dim;
    const b2 = b1 + dim;
    const b3 = b2 + dim;
    const o = r * count;
    let l = 0;
    for (; l + 2 <= count; l += 2) {
      const t0 = l * dim;
      const t1 = t0 + dim;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, e0 = 0, e1 = 0, e2 = 0, e3 = 0; // prettier-ignore
      for (let d = 0; d < dim; d++) {
        const u = text[t0 + d];
        const v = text[t1 + d];
        const x0 = images[b0 + d];
        const x1 = images[b1 + d];
        const x2 = images[b2 + d];
        const x3 = images[b3 + d];
        a0 += x0 * u;
        a1 += x1 * u;
        a2 += x2 * u;
        a3 += x3 * u;
        e0 += x0 * v;
        e1 += x1 * v;
        e2 += x2 * v;
        e3 += x3 * v;
      }
      out[o + l] = a0;
      out[o + count + l] = a1;
      out[o + c2 + l] = a2;
      out[o + c3 + l] = a3;
      out[o + l + 1] = e0;
      out[o + count + l + 1] = e1;
      out[o + c2 + l + 1] = e2;
      out[o + c3 + l + 1] = e3;
    }
    if (l < count) {
      const t = l * dim;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0; // prettier-ignore
      for (let d = 0; d < dim; d++) {
        const u = text[t + d];
        a0 += images[b0 + d] * u;
        a1 += images[b1 + d] * u;
        a2 += images[b2 + d] * u;
        a3 += images[b3 + d] * u;
      }
      out[o + l] = a0;
      out[o + count + l] = a1;
      out[o + c2 + l] = a2;
      out[o + c3 + l] = a3;
    }
  }
  for (; r < rows; r++) {
    const b = r * dim;
    for (let l = 0; l < count; l++) {
      const t = l * dim;
      let a = 0;
      for (let d = 0; d < dim; d++) a += images[b + d] * text[t + d];
      out[r * count + l] = a;
    }
  }
  return out;
}

/** Index of the highest score in row `r` (first wins on ties, so label order breaks them). */
export function topIndex(scores: Float32Array, r: number, count: number): number {
  const o = r * count;
  let best = 0;
  for (let k = 1; k < count; k++) if (scores[o + k] > scores[o + best]) best = k;
  return best;
}
