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
/** Items are not exactly at the library's typical distance from the centre, so a pair's true flip rate varies: margin. */
const FLIP_MARGIN = 1.15;
const MAX_BANDS = 512;
/** Buckets larger than this are compared only with their neighbours in signature order. */
const MAX_BUCKET = 2048;
const WINDOW = 32;

/**
 * r ≈ log2(n) + 1 bits per band (an unrelated pair meets about once per band per two items), and L
 * bands for BAND_RECALL at the threshold. Measured at 1M (bench `vectors`): one more bit per band
 * halves the unrelated pairs but needs ~1.2× the bands; this is near the cheapest point.
 */
export function bandLayout(n: number, threshold: number, meanNormSq: number): { bits: number; bands: number } {
  const p = Math.min(0.45, FLIP_MARGIN * bitFlipChance(threshold, meanNormSq));
  const bits = Math.max(10, Math.min(22, Math.ceil(Math.log2(Math.max(2, n))) + 1));
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

export function nearPairs(input: NearPairsInput): NearPairsResult {
  const { count, threshold, probes } = input;
  const bytesPer = signatureBytes();
  const words = bytesPer >> 2;
  if (input.signatures.length !== count * bytesPer) throw new Error(`expected ${count} signatures of ${bytesPer} bytes`);
  const sigBytes = input.signatures.byteOffset % 4 === 0 ? input.signatures : Uint8Array.from(input.signatures);
  const sig32 = new Uint32Array(sigBytes.buffer, sigBytes.byteOffset, count * words);
  const p = bitFlipChance(threshold, input.meanNormSq);
  const maxHamming = Math.ceil(SIGNATURE_BITS * p * FLIP_MARGIN + 4 * Math.sqrt(SIGNATURE_BITS * Math.max(p, 0.02) * (1 - p)) + 8);
  const layout = bandLayout(count, threshold, input.meanNormSq);
  const r = layout.bits;

  // A band's key is whole signature bytes (plus the low bits of one more): every bit is an independent
  // random hyperplane, so any r of them do, and gathering bytes is several times cheaper than bits.
  const fullBytes = r >> 3;
  const extraBits = r & 7;
  const perBand = fullBytes + (extraBits ? 1 : 0);
  const extraMask = (1 << extraBits) - 1;
  const next = xorshift(0x0ba2d5);
  const bandBytes = new Int32Array(layout.bands * perBand);
  for (let band = 0; band < layout.bands; band++) {
    const chosen = new Set<number>();
    while (chosen.size < perBand) chosen.add(Math.floor(next() * bytesPer));
    [...chosen].forEach((b, i) => (bandBytes[band * perBand + i] = b));
  }

  const pairs: NearPair[] = [];
  const seen = new Set<number>();
  let checked = 0;
  let candidates = 0;
  const consider = (x: number, y: number): void => {
    candidates++;
    // Hamming first, half the words at a time: unrelated pairs differ in about half their bits, so
    // most are rejected after the first half.
    const ox = x * words;
    const oy = y * words;
    let d = 0;
    const half = words >> 1;
    for (let w = 0; w < half; w++) d += popcount32(sig32[ox + w] ^ sig32[oy + w]);
    if (d > maxHamming) return;
    for (let w = half; w < words; w++) d += popcount32(sig32[ox + w] ^ sig32[oy + w]);
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

  const buckets = 1 << r;
  const keys = new Uint32Array(count);
  const starts = new Uint32Array(buckets + 1);
  const fill = new Uint32Array(buckets);
  const order = new Int32Array(count);
  // Incremental runs: buckets that hold a probe; everything else is skipped before sorting.
  const marked = probes ? new Uint8Array(buckets) : undefined;
  const probeList: number[] = [];
  if (probes) for (let i = 0; i < count; i++) if (probes[i]) probeList.push(i);
  const members: number[] = [];
  for (let band = 0; band < layout.bands; band++) {
    const picked = bandBytes.subarray(band * perBand, (band + 1) * perBand);
    const keyOf = (i: number): number => {
      const o = i * bytesPer;
      let key = 0;
      for (let t = 0; t < fullBytes; t++) key = (key << 8) | sigBytes[o + picked[t]];
      if (extraBits) key = (key << extraBits) | (sigBytes[o + picked[fullBytes]] & extraMask);
      return key >>> 0;
    };
    starts.fill(0);
    if (marked) {
      for (const i of probeList) marked[keyOf(i)] = 1;
    }
    for (let i = 0; i < count; i++) {
      const key = keyOf(i);
      keys[i] = key;
      if (!marked || marked[key]) starts[key + 1]++;
    }
    for (let k = 0; k < buckets; k++) starts[k + 1] += starts[k];
    fill.set(starts.subarray(0, buckets));
    for (let i = 0; i < count; i++) if (!marked || marked[keys[i]]) order[fill[keys[i]]++] = i;
    const visit = (start: number, end: number): void => {
      if (end - start < 2) return;
      if (end - start <= MAX_BUCKET) {
        for (let i = start; i < end; i++) {
          const x = order[i];
          for (let j = i + 1; j < end; j++) {
            const y = order[j];
            if (!probes || probes[x] || probes[y]) consider(x, y);
          }
        }
        return;
      }
      // A huge bucket (thousands of near-identical frames, say): neighbours in full-signature order.
      members.length = 0;
      for (let i = start; i < end; i++) members.push(order[i]);
      members.sort((x, y) => compareSignatures(sig32, x * words, y * words, words));
      for (let i = 0; i < members.length; i++) {
        for (let j = i + 1; j < Math.min(members.length, i + 1 + WINDOW); j++) {
          if (!probes || probes[members[i]] || probes[members[j]]) consider(members[i], members[j]);
        }
      }
    };
    if (marked) {
      for (const i of probeList) {
        const key = keys[i];
        if (!marked[key]) continue;
        marked[key] = 0;
        visit(starts[key], starts[key + 1]);
      }
    } else {
      for (let k = 0; k < buckets; k++) visit(starts[k], starts[k + 1]);
    }
  }
  return { pairs, checked, candidates, bands: layout.bands, bandBits: r };
}
