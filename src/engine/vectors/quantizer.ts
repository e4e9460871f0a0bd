// Compact codes for the coarse stage of the two-stage search.
//
// Each embedding becomes two bit planes of `dim` bits:
//   sign plane      bit j = x_j > mean_j         (centred sign: searched by Hamming distance)
//   magnitude plane bit j = |x_j − mean_j| > t_j (t_j = 0.98·sd_j, the 4-level Lloyd–Max split)
// Centring matters: CLIP embeddings share a large common direction, so raw signs of many dimensions
// are the same for every image and carry no information. The magnitude plane turns the sign into a
// 4-level scalar quantizer; re-ranking the Hamming survivors with an asymmetric score (float query ·
// reconstructed levels) recovers most of the ranking quality the signs alone lose, at 1/16 the
// size of the float vectors.

/** 2: sign and magnitude planes stored as separate block kinds (v1 interleaved them per image). */
export const CODE_VERSION = 2;

/** Lloyd–Max 4-level quantizer for a standard normal splits at ±0.9816. */
const MAGNITUDE_SPLIT = 0.9816;

export interface QuantizerParams {
  dim: number;
  mean: Float32Array;
  /** Per-dimension magnitude split t_j. */
  split: Float32Array;
  /**
   * Reconstruction of x_j − mean_j per bucket, 4 per dimension, bucket = sign + 2·magnitude:
   * 0 inner negative, 1 inner positive, 2 outer negative, 3 outer positive.
   */
  levels: Float32Array;
}

/** Bytes of one bit plane (dimensions padded to whole 64-bit words for the scan kernel). */
export function planeBytes(dim: number): number {
  return Math.ceil(dim / 64) * 8;
}

/** Streaming estimate of the quantizer from vectors seen one by one (two passes: moments, then levels). */
export class QuantizerFit {
  private readonly sum: Float64Array;
  private readonly sumSq: Float64Array;
  private n = 0;

  constructor(readonly dim: number) {
    this.sum = new Float64Array(dim);
    this.sumSq = new Float64Array(dim);
  }

  addMoments(data: Float32Array, rows: number): void {
    const { dim, sum, sumSq } = this;
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      for (let j = 0; j < dim; j++) {
        const v = data[o + j];
        sum[j] += v;
        sumSq[j] += v * v;
      }
    }
    this.n += rows;
  }

  /** Mean and splits; reconstruction levels start at the Gaussian values and are refined by `LevelFit`. */
  moments(): { mean: Float32Array; split: Float32Array; sd: Float32Array } {
    const { dim, n } = this;
    const mean = new Float32Array(dim);
    const sd = new Float32Array(dim);
    const split = new Float32Array(dim);
    for (let j = 0; j < dim; j++) {
      const m = n > 0 ? this.sum[j] / n : 0;
      const variance = n > 1 ? Math.max(0, this.sumSq[j] / n - m * m) : 0;
      mean[j] = m;
      sd[j] = Math.sqrt(variance);
      split[j] = MAGNITUDE_SPLIT * sd[j];
    }
    return { mean, split, sd };
  }
}

/** Second pass: the mean of x_j − mean_j inside each bucket (empirical, so skewed dimensions are fine). */
export class LevelFit {
  private readonly sum: Float64Array;
  private readonly count: Float64Array;

  constructor(
    private readonly mean: Float32Array,
    private readonly split: Float32Array,
    private readonly sd: Float32Array,
  ) {
    this.sum = new Float64Array(mean.length * 4);
    this.count = new Float64Array(mean.length * 4);
  }

  add(data: Float32Array, rows: number): void {
    const dim = this.mean.length;
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      for (let j = 0; j < dim; j++) {
        const c = data[o + j] - this.mean[j];
        const bucket = (c > 0 ? 1 : 0) + (Math.abs(c) > this.split[j] ? 2 : 0);
        this.sum[j * 4 + bucket] += c;
        this.count[j * 4 + bucket]++;
      }
    }
  }

  params(): QuantizerParams {
    const dim = this.mean.length;
    const levels = new Float32Array(dim * 4);
    // Gaussian fall-backs for empty buckets: ±0.4528·sd inside, ±1.510·sd outside.
    const gaussian = [-0.4528, 0.4528, -1.51, 1.51];
    for (let j = 0; j < dim; j++) {
      for (let b = 0; b < 4; b++) {
        const k = j * 4 + b;
        levels[k] = this.count[k] > 0 ? this.sum[k] / this.count[k] : gaussian[b] * this.sd[j];
      }
    }
    return { dim, mean: Float32Array.from(this.mean), split: Float32Array.from(this.split), levels };
  }
}

/** Fits a quantizer on the rows of `data` (row-major, `dim` wide). */
export function fitQuantizer(data: Float32Array, dim: number): QuantizerParams {
  const rows = data.length / dim;
  const fit = new QuantizerFit(dim);
  fit.addMoments(data, rows);
  const { mean, split, sd } = fit.moments();
  const levels = new LevelFit(mean, split, sd);
  levels.add(data, rows);
  return levels.params();
}

/**
 * Writes row `row` of `data` as its sign plane into `out` at byte `offset` and its magnitude plane
 * into `magsOut` at `magsOffset` (default: right after the sign plane in `out`).
 */
export function encodeRow(q: QuantizerParams, data: Float32Array, row: number, out: Uint8Array, offset: number, magsOut = out, magsOffset = offset + planeBytes(q.dim)): void {
  const { dim, mean, split } = q;
  const plane = planeBytes(dim);
  out.fill(0, offset, offset + plane);
  magsOut.fill(0, magsOffset, magsOffset + plane);
  const o = row * dim;
  // A byte at a time in locals: the sign of a centred value is a coin flip, and per-bit branches and
  // read-modify-writes of `out` made this several times slower.
  for (let b = 0, j = 0; j < dim; b++) {
    let signs = 0;
    let mags = 0;
    for (let t = 0; t < 8 && j < dim; t++, j++) {
      const c = data[o + j] - mean[j];
      const limit = split[j];
      signs |= (c > 0 ? 1 : 0) << t;
      mags |= (c > limit || c < -limit ? 1 : 0) << t;
    }
    out[offset + b] = signs;
    magsOut[magsOffset + b] = mags;
  }
}

/**
 * The query's Hamming code: bit j = q_j > 0. A cosine is q·mean + Σ q_j (x_j − mean_j), and the sum is
 * largest when the centred sign of x_j agrees with the sign of q_j — so the query is not centred.
 */
export function querySignCode(q: Float32Array, dim: number): Uint8Array {
  const out = new Uint8Array(planeBytes(dim));
  for (let j = 0; j < dim; j++) if (q[j] > 0) out[j >> 3] |= 1 << (j & 7);
  return out;
}

/**
 * Lookup tables for the asymmetric score Σ_j q_j · level_j(bucket): one table of 256 entries per group
 * of 4 dimensions, indexed by (4 sign bits) | (4 magnitude bits) << 4.
 */
export function asymmetricTables(q: QuantizerParams, query: Float32Array): Float32Array {
  // Two groups per byte of the planes, so a dimension count that is not a multiple of 8 still maps.
  const groups = Math.ceil(q.dim / 8) * 2;
  const lut = new Float32Array(groups * 256);
  for (let g = 0; g < groups; g++) {
    // Per dimension of the group, its contribution for each of the 4 buckets.
    const contrib: number[][] = [];
    for (let t = 0; t < 4; t++) {
      const j = g * 4 + t;
      contrib.push(j < q.dim ? [0, 1, 2, 3].map((b) => query[j] * q.levels[j * 4 + b]) : [0, 0, 0, 0]);
    }
    for (let idx = 0; idx < 256; idx++) {
      let s = 0;
      for (let t = 0; t < 4; t++) {
        const sign = (idx >> t) & 1;
        const mag = (idx >> (4 + t)) & 1;
        s += contrib[t][sign + 2 * mag];
      }
      lut[g * 256 + idx] = s;
    }
  }
  return lut;
}

/**
 * Asymmetric scores of many codes at once: `out[i]` for the code at `slots[i]`, where sign and
 * magnitude planes are slot-major with `plane` bytes per slot.
 */
export function asymmetricScores(lut: Float32Array, signs: Uint8Array, mags: Uint8Array, plane: number, dim: number, slots: Int32Array, out: Float32Array): void {
  const bytes = Math.ceil(dim / 8);
  for (let i = 0; i < slots.length; i++) {
    const o = slots[i] * plane;
    let s = 0;
    for (let p = 0, base = 0; p < bytes; p++, base += 512) {
      const a = signs[o + p];
      const b = mags[o + p];
      s += lut[base | (a & 15) | ((b & 15) << 4)] + lut[(base + 256) | (a >> 4) | (b & 0xf0)];
    }
    out[i] = s;
  }
}

export function serializeParams(q: QuantizerParams): Buffer {
  const all = new Float32Array(q.dim * 6);
  all.set(q.mean, 0);
  all.set(q.split, q.dim);
  all.set(q.levels, q.dim * 2);
  return Buffer.from(all.buffer, all.byteOffset, all.byteLength);
}

export function deserializeParams(blob: Buffer, dim: number): QuantizerParams | undefined {
  if (blob.length !== dim * 6 * 4) return undefined;
  const all = new Float32Array(dim * 6);
  new Uint8Array(all.buffer).set(blob);
  return { dim, mean: all.slice(0, dim), split: all.slice(dim, dim * 2), levels: all.slice(dim * 2) };
}
