// Pairs of embeddings with cosine ≥ threshold, without comparing every pair (locality-sensitive
// hashing over the stored random-hyperplane signatures, vectors/signatures.ts).
//
// Bands of r signature bits bucket the items; two near-duplicates share a bucket in at least one of L
// bands with high probability, and only pairs that do are looked at: first by Hamming distance over
// all signature bits (cheap, and tight because the bits are unbiased), then by exact cosine. With
// `probes`, only pairs that include a probed item are looked at, so a run after indexing 1,000 new
// images costs one pass over the band keys plus the new images' buckets, not a full join.

import { SIGNATURE_BITS, bitFlipChance, signatureBytes } from '../vectors/signatures.js';

export interface NearPairsInput {
  /** Items are 0..count−1. */
  count: number;
  /** `signatureBytes()` per item, item order. */
  signatures: Uint8Array;
  /** Squared norm of the centre the signatures were made with. */
  meanNormSq: number;
  threshold: number;
  /** Exact cosine of two items. */
  cosine(a: number, b: number): number;
  /** Only pairs with at least one item marked here (an incremental run); all pairs when absent. */
  probes?: Uint8Array;
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
  /** Pairs that shared a bucket and had their Hamming distance computed. */
  candidates: number;
  bands: number;
  bandBits: number;
}

/** Wanted chance that a pair right at the threshold shares at least one band. */
const BAND_RECALL = 0.999;
/**
 * Items are not exactly at the library's typical distance from the centre, so a pair's true flip rate
 * varies around the model's: bands are laid out for a 15% higher rate. (Planted near-copies measured
 * at 200k: Hamming distances within −4.6σ … +2.8σ of the model's expectation.)
 */
const FLIP_MARGIN = 1.15;
/** Standard deviations above the expected Hamming distance at the threshold that a pair may still be. */
const HAMMING_SIGMAS = 5;
const MAX_BANDS = 512;
/** Buckets larger than this are compared only with their neighbours in signature order. */
const MAX_BUCKET = 2048;
const WINDOW = 32;
/** Signature words compared first: most candidates are rejected on these alone. */
const PREFIX_WORDS = 4;

/**
 * r ≈ log2(n) + 3 bits per band, and L bands for BAND_RECALL at the threshold. Each band costs a pass
 * over every item plus the unrelated pairs that share a key; one more bit halves those pairs but
 * needs ~1.2× the bands, and at a million items the two balance near log2(n) + 3.
 */
export function bandLayout(n: number, threshold: number, meanNormSq: number): { bits: number; bands: number } {
  const p = Math.min(0.45, FLIP_MARGIN * bitFlipChance(threshold, meanNormSq));
  const bits = Math.max(12, Math.min(26, Math.ceil(Math.log2(Math.max(2, n))) + 3));
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

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function compareSignatures(h: Uint32Array, a: number, b: number, words: number): number {
  for (let w = 0; w < words; w++) {
    if (h[a + w] !== h[b + w]) return h[a + w] < h[b + w] ? -1 : 1;
  }
  return 0;
}

/** Bound on the Hamming distance over `bits` signature bits for a pair at flip rate p. */
function hammingBound(bits: number, p: number): number {
  return Math.ceil(bits * p + HAMMING_SIGMAS * Math.sqrt(bits * Math.max(p, 0.02) * (1 - p)));
}

/**
 * The signatures byte-major (byte j of every item contiguous), in blocks that stay in cache: a band
 * then reads 3-4 sequential columns instead of 3-4 scattered bytes per item, ~3× faster at 1M.
 */
function columns(sig: Uint8Array, count: number, bytesPer: number): Uint8Array[] {
  const cols = Array.from({ length: bytesPer }, () => new Uint8Array(count));
  const BLOCK = 2048;
  for (let start = 0; start < count; start += BLOCK) {
    const end = Math.min(count, start + BLOCK);
    for (let b = 0; b < bytesPer; b++) {
      const col = cols[b];
      for (let i = start, o = start * bytesPer + b; i < end; i++, o += bytesPer) col[i] = sig[o];
    }
  }
  return cols;
}

export function nearPairs(input: NearPairsInput): NearPairsResult {
  const { count, threshold, probes } = input;
  const bytesPer = signatureBytes();
  const words = bytesPer >> 2;
  if (input.signatures.length !== count * bytesPer) throw new Error(`expected ${count} signatures of ${bytesPer} bytes`);
  const sigBytes = input.signatures.byteOffset % 4 === 0 ? input.signatures : new Uint8Array(input.signatures);
  const sig32 = new Uint32Array(sigBytes.buffer, sigBytes.byteOffset, count * words);
  const p = bitFlipChance(threshold, input.meanNormSq);
  const maxHamming = hammingBound(SIGNATURE_BITS, p);
  const maxPrefix = hammingBound(PREFIX_WORDS * 32, p);
  const layout = bandLayout(count, threshold, input.meanNormSq);
  const r = layout.bits;

  // A band's key is r bits from up to 4 random signature bytes: every bit is an independent random
  // hyperplane, so any r of them do, and gathering bytes is several times cheaper than bits.
  const perBand = Math.ceil(r / 8);
  const keyMask = (2 ** r - 1) >>> 0;
  const next = xorshift(0x0ba2d5);
  const bandBytes = new Int32Array(layout.bands * 4);
  for (let band = 0; band < layout.bands; band++) {
    const chosen = new Set<number>();
    while (chosen.size < perBand) chosen.add(Math.floor(next() * bytesPer));
    [...chosen].forEach((b, i) => (bandBytes[band * 4 + i] = b));
  }
  const cols = columns(sigBytes, count, bytesPer);
  const zero = new Uint8Array(count);

  const pairs: NearPair[] = [];
  const seen = new Set<number>();
  let checked = 0;
  let candidates = 0;
  /** Hamming test, then (once per pair) the exact cosine. */
  const consider = (x: number, y: number): void => {
    candidates++;
    const ox = x * words;
    const oy = y * words;
    let d = 0;
    for (let w = 0; w < PREFIX_WORDS; w++) d += popcount32(sig32[ox + w] ^ sig32[oy + w]);
    if (d > maxPrefix) return;
    for (let w = PREFIX_WORDS; w < words; w++) d += popcount32(sig32[ox + w] ^ sig32[oy + w]);
    if (d > maxHamming) return;
    const a = x < y ? x : y;
    const b = x < y ? y : x;
    // Re-checking a pair another band already found is cheaper than remembering every candidate.
    const key = a * count + b;
    if (seen.has(key)) return;
    seen.add(key);
    checked++;
    const score = input.cosine(a, b);
    if (score >= threshold) pairs.push({ a, b, score });
  };

  // Per band: a bitmap of keys seen once and one of keys seen again (2^r bits each: 1 MB at r = 23,
  // cache-resident), so only items whose key repeats — a few percent — are collected and sorted.
  const once = new Uint32Array(Math.ceil(2 ** r / 32));
  const again = new Uint32Array(once.length);
  const keys = new Uint32Array(count);
  let sorted = new Float64Array(1024);
  const probeList: number[] = [];
  if (probes) for (let i = 0; i < count; i++) if (probes[i]) probeList.push(i);
  const members: number[] = [];
  for (let band = 0; band < layout.bands; band++) {
    // The band's bytes, the last one in the low bits; unused slots read zeros.
    const col = (t: number) => (t < perBand ? cols[bandBytes[band * 4 + t]] : zero);
    const shift = (t: number) => (t < perBand ? 8 * (perBand - 1 - t) : 0);
    const [c0, c1, c2, c3] = [col(0), col(1), col(2), col(3)];
    const [s0, s1, s2, s3] = [shift(0), shift(1), shift(2), shift(3)];
    for (let i = 0; i < count; i++) keys[i] = (((c0[i] << s0) | (c1[i] << s1) | (c2[i] << s2) | (c3[i] << s3)) & keyMask) >>> 0;
    if (probes) {
      // Only keys a probe holds matter: mark them, then collect every item holding one.
      for (const i of probeList) {
        const k = keys[i];
        again[k >>> 5] |= 1 << (k & 31);
      }
    } else {
      for (let i = 0; i < count; i++) {
        const k = keys[i];
        const w = k >>> 5;
        const m = 1 << (k & 31);
        if (once[w] & m) again[w] |= m;
        else once[w] |= m;
      }
    }
    // Items whose key repeats, sorted by key (key · 2^26 + item is exact in a double: r, log2 n ≤ 26).
    let m = 0;
    for (let i = 0; i < count; i++) {
      const k = keys[i];
      if (again[k >>> 5] & (1 << (k & 31))) {
        if (m === sorted.length) {
          const grown = new Float64Array(sorted.length * 2);
          grown.set(sorted);
          sorted = grown;
        }
        sorted[m++] = k * 67108864 + i;
      }
    }
    if (probes) {
      for (const i of probeList) {
        const k = keys[i];
        again[k >>> 5] &= ~(1 << (k & 31));
      }
    } else {
      once.fill(0);
      again.fill(0);
    }
    const run = sorted.subarray(0, m).sort();
    for (let start = 0; start < m; ) {
      const key = Math.floor(run[start] / 67108864);
      let end = start + 1;
      while (end < m && Math.floor(run[end] / 67108864) === key) end++;
      const size = end - start;
      if (size <= MAX_BUCKET) {
        for (let i = start; i < end; i++) {
          const x = run[i] - key * 67108864;
          const px = probes ? probes[x] : 1;
          for (let j = i + 1; j < end; j++) {
            const y = run[j] - key * 67108864;
            if (!probes || px || probes[y]) consider(x, y);
          }
        }
      } else {
        // A huge bucket (thousands of near-identical frames, say): neighbours in full-signature order.
        members.length = 0;
        for (let i = start; i < end; i++) members.push(run[i] - key * 67108864);
        members.sort((x, y) => compareSignatures(sig32, x * words, y * words, words));
        for (let i = 0; i < members.length; i++) {
          for (let j = i + 1; j < Math.min(members.length, i + 1 + WINDOW); j++) {
            if (!probes || probes[members[i]] || probes[members[j]]) consider(members[i], members[j]);
          }
        }
      }
      start = end;
    }
  }
  return { pairs, checked, candidates, bands: layout.bands, bandBits: r };
}
