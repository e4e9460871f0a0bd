// Pairs of embeddings with cosine ≥ threshold, without comparing every pair (locality-sensitive hashing).
//
// Each embedding, centred on the library mean, gets H hash bits: signs of its projections on H random
// directions (a random sign flip and a Walsh–Hadamard transform: O(d log d) per 512 directions). For
// random directions a bit differs between two vectors with probability exactly θ/π (θ their angle),
// whatever the shape of the data — unlike the search's per-dimension sign codes, whose bits flip about
// twice as often between near-copies on anisotropic embeddings. Bands of r hash bits bucket the
// embeddings; two near-duplicates share a bucket in at least one of L bands with high probability,
// and only pairs that do are looked at: first by Hamming distance over all H bits (cheap, and tight
// because the bits are unbiased), then by exact cosine.

export interface NearPairsInput {
  dim: number;
  /** Items are 0..count−1. */
  count: number;
  /** Mean embedding: the hashes use centred vectors (CLIP embeddings share a large common direction). */
  mean: Float32Array;
  /** Calls `visit` once per item with its embedding (the array may be reused between calls). */
  readVectors(visit: (item: number, vector: Float32Array) => void): void;
  /** Exact cosine of two items. */
  cosine(a: number, b: number): number;
  threshold: number;
}

export interface NearPair {
  a: number;
  b: number;
  score: number;
}

export interface NearPairsResult {
  pairs: NearPair[];
  /** Pairs whose exact cosine was computed. */
  checked: number;
  bands: number;
  bandBits: number;
}

/** Hash bits per embedding. */
const HASH_BITS = 1024;
/** Wanted chance that a pair right at the threshold shares at least one band. */
const BAND_RECALL = 0.995;
/** Items are not exactly at the library's typical norm, so a pair's true flip rate varies: margin. */
const FLIP_MARGIN = 1.15;
const MAX_BANDS = 256;
/** Buckets larger than this are compared only with their neighbours in hash order. */
const MAX_BUCKET = 2048;
const WINDOW = 32;

/**
 * Chance that one hash bit differs between two embeddings at cosine `threshold`: a raw cosine t
 * becomes ≈ (t − |m|²)/(1 − |m|²) between centred vectors (m the mean), and a centred angle θ flips
 * a random-hyperplane bit with probability θ/π.
 */
export function bitFlipChance(threshold: number, meanNormSq: number): number {
  const centred = Math.max(-1, Math.min(1, (threshold - meanNormSq) / Math.max(1e-6, 1 - meanNormSq)));
  return Math.acos(centred) / Math.PI;
}

/** r ≈ log2(n) bits per band (an unrelated pair meets about once per band per item); L for BAND_RECALL. */
export function bandLayout(n: number, threshold: number, meanNormSq: number): { bits: number; bands: number } {
  const p = Math.min(0.45, FLIP_MARGIN * bitFlipChance(threshold, meanNormSq));
  const bits = Math.max(10, Math.min(20, Math.ceil(Math.log2(Math.max(2, n)))));
  const bands = Math.ceil(Math.log(1 - BAND_RECALL) / Math.log(1 - Math.pow(1 - p, bits)));
  return { bits, bands: Math.max(8, Math.min(MAX_BANDS, bands)) };
}

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** In-place unnormalized fast Walsh–Hadamard transform; `a.length` must be a power of two. */
export function walshHadamard(a: Float32Array | Float64Array): void {
  const n = a.length;
  // The two smallest strides in one pass (the generic loop is slow for them), then the rest.
  for (let i = 0; i + 3 < n; i += 4) {
    const x0 = a[i] + a[i + 1];
    const x1 = a[i] - a[i + 1];
    const x2 = a[i + 2] + a[i + 3];
    const x3 = a[i + 2] - a[i + 3];
    a[i] = x0 + x2;
    a[i + 1] = x1 + x3;
    a[i + 2] = x0 - x2;
    a[i + 3] = x1 - x3;
  }
  for (let h = n < 4 ? 1 : 4; h < n; h <<= 1) {
    for (let i = 0; i < n; i += h << 1) {
      for (let j = i; j < i + h; j++) {
        const x = a[j];
        const y = a[j + h];
        a[j] = x + y;
        a[j + h] = x - y;
      }
    }
  }
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Random-hyperplane hashes of every item: `words` u32 per item. */
function hashAll(input: NearPairsInput): { hashes: Uint32Array; words: number } {
  const { dim, count, mean } = input;
  let size = 1;
  while (size < dim) size <<= 1;
  const blocks = Math.max(1, Math.ceil(HASH_BITS / size));
  const words = (blocks * size) >> 5;
  const next = xorshift(0x5eed1234);
  // One random sign flip and one Hadamard transform per block: the rows of H·D are random ±1
  // directions, which hash dense embedding vectors like Gaussian ones do.
  const flips = Array.from({ length: blocks }, () => Float64Array.from({ length: size }, () => (next() < 0.5 ? -1 : 1)));
  const hashes = new Uint32Array(count * words);
  const buf = new Float64Array(size);
  input.readVectors((item, v) => {
    for (let b = 0; b < blocks; b++) {
      const flip = flips[b];
      buf.fill(0);
      for (let j = 0; j < dim; j++) buf[j] = (v[j] - mean[j]) * flip[j];
      walshHadamard(buf);
      const o = item * words + ((b * size) >> 5);
      for (let w = 0; w < size >> 5; w++) {
        let bits = 0;
        for (let t = 0; t < 32; t++) bits |= (buf[(w << 5) | t] > 0 ? 1 : 0) << t;
        hashes[o + w] = bits;
      }
    }
  });
  return { hashes, words };
}

export function nearPairs(input: NearPairsInput): NearPairsResult {
  const { count, threshold } = input;
  let meanNormSq = 0;
  for (const m of input.mean) meanNormSq += m * m;
  const { hashes, words } = hashAll(input);
  const hashBits = words * 32;
  const p = bitFlipChance(threshold, meanNormSq);
  const maxHamming = Math.ceil(hashBits * p * FLIP_MARGIN + 4 * Math.sqrt(hashBits * Math.max(p, 0.02) * (1 - p)) + 8);
  const layout = bandLayout(count, threshold, meanNormSq);
  const r = layout.bits;

  // A band's key is whole hash bytes (plus the low bits of one more): every hash bit is an independent
  // random hyperplane, so any r of them do, and gathering bytes is several times cheaper than bits.
  const hashBytes = new Uint8Array(hashes.buffer, hashes.byteOffset, hashes.byteLength);
  const bytesPerItem = words * 4;
  const fullBytes = r >> 3;
  const extraBits = r & 7;
  const perBand = fullBytes + (extraBits ? 1 : 0);
  const next = xorshift(0x0ba2d5);
  const bandBytes = new Int32Array(layout.bands * perBand);
  for (let band = 0; band < layout.bands; band++) {
    const chosen = new Set<number>();
    while (chosen.size < perBand) chosen.add(Math.floor(next() * bytesPerItem));
    [...chosen].forEach((b, i) => (bandBytes[band * perBand + i] = b));
  }
  const extraMask = (1 << extraBits) - 1;

  const hamming = (a: number, b: number): number => {
    let d = 0;
    const oa = a * words;
    const ob = b * words;
    for (let w = 0; w < words; w++) d += popcount32(hashes[oa + w] ^ hashes[ob + w]);
    return d;
  };
  const pairs: NearPair[] = [];
  const seen = new Set<number>();
  let checked = 0;
  const consider = (x: number, y: number) => {
    if (x === y) return;
    // Hamming first: re-checking a pair another band already found is cheaper than remembering every pair.
    if (hamming(x, y) > maxHamming) return;
    const a = Math.min(x, y);
    const b = Math.max(x, y);
    const key = a * count + b;
    if (seen.has(key)) return;
    seen.add(key);
    checked++;
    const score = input.cosine(a, b);
    if (score >= threshold) pairs.push({ a, b, score });
  };

  const buckets = 1 << r;
  const keys = new Uint32Array(count);
  const starts = new Uint32Array(buckets + 1);
  const order = new Int32Array(count);
  for (let band = 0; band < layout.bands; band++) {
    starts.fill(0);
    const picked = bandBytes.subarray(band * perBand, (band + 1) * perBand);
    for (let i = 0; i < count; i++) {
      const o = i * bytesPerItem;
      let key = 0;
      for (let t = 0; t < fullBytes; t++) key = (key << 8) | hashBytes[o + picked[t]];
      if (extraBits) key = (key << extraBits) | (hashBytes[o + picked[fullBytes]] & extraMask);
      keys[i] = key >>> 0;
      starts[keys[i] + 1]++;
    }
    for (let k = 0; k < buckets; k++) starts[k + 1] += starts[k];
    const fill = starts.slice(0, buckets);
    for (let i = 0; i < count; i++) order[fill[keys[i]]++] = i;
    for (let k = 0; k < buckets; k++) {
      const start = starts[k];
      const end = starts[k + 1];
      if (end - start < 2) continue;
      if (end - start <= MAX_BUCKET) {
        for (let i = start; i < end; i++) for (let j = i + 1; j < end; j++) consider(order[i], order[j]);
      } else {
        // A huge bucket (thousands of near-identical frames, say): neighbours in full-hash order.
        const members = Array.from(order.subarray(start, end)).sort((x, y) => compareHashes(hashes, x * words, y * words, words));
        for (let i = 0; i < members.length; i++) {
          for (let j = i + 1; j < Math.min(members.length, i + 1 + WINDOW); j++) consider(members[i], members[j]);
        }
      }
    }
  }
  return { pairs, checked, bands: layout.bands, bandBits: r };
}

function compareHashes(h: Uint32Array, a: number, b: number, words: number): number {
  for (let w = 0; w < words; w++) {
    if (h[a + w] !== h[b + w]) return h[a + w] < h[b + w] ? -1 : 1;
  }
  return 0;
}
