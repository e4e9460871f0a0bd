// Random-hyperplane signatures (SimHash) of embeddings, for finding near-duplicates.
//
// Bit i of a signature is the sign of the embedding's projection, centred on the library mean, on a
// random direction r_i. For two vectors at angle θ, a bit differs with probability exactly θ/π
// whatever the shape of the data, so the Hamming distance between signatures estimates the angle
// without the vectors, and bands of bits bucket near-copies together (duplicates/near-pairs.ts).
// Centring matters: CLIP embeddings share a large common direction (a random pair of photos has
// cosine ~0.45), which leaves raw signatures of unrelated photos agreeing on ~65% of their bits; centred,
// unrelated photos agree on about half, so a band of bits separates them with fewer bits and fewer
// bands (at 1M, ~1.8× less work). The centre is the search quantizer's mean, so signatures are
// re-made when the quantizer is re-fitted (rarely: never past ~262k images).
// The directions are the rows of H·D (D a random ±1 diagonal, H the Walsh–Hadamard matrix), one
// block of `pow2(dim)` bits per D: O(d log d) per block instead of a d × bits matrix product.
// Computing them costs ~35 µs per embedding in JavaScript on the 2-core machine, which is why they
// are persisted with the search codes at indexing time (a million would take ~35 s at query time).

/** Bits per signature. */
export const SIGNATURE_BITS = 1024;
/** Bumped when the directions or the layout change: stored signatures of another version are recomputed. */
export const SIGNATURE_VERSION = 1;
const SEED = 0x5eed1234;

export function signatureBytes(): number {
  return SIGNATURE_BITS / 8;
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

/** Computes signatures of many vectors with one set of random directions per dimension. */
export class SignatureHasher {
  readonly dim: number;
  private readonly size: number;
  private readonly flips: Float64Array[];
  private readonly buf: Float64Array;

  constructor(private readonly centre: Float32Array) {
    const dim = centre.length;
    this.dim = dim;
    let size = 1;
    while (size < dim) size <<= 1;
    // Dimensions above 1024 would need blocks wider than the signature; no CLIP model has them.
    if (size > SIGNATURE_BITS) throw new Error(`signatures support up to ${SIGNATURE_BITS} dimensions, got ${dim}`);
    this.size = size;
    const next = xorshift(SEED);
    this.flips = Array.from({ length: SIGNATURE_BITS / size }, () => Float64Array.from({ length: size }, () => (next() < 0.5 ? -1 : 1)));
    this.buf = new Float64Array(size);
  }

  /** Writes the signature of `vector[offset .. offset + dim)` into `out` at byte `outOffset`. */
  sign(vector: ArrayLike<number>, offset: number, out: Uint8Array, outOffset: number): void {
    const { dim, size, buf, centre } = this;
    for (let b = 0; b < this.flips.length; b++) {
      const flip = this.flips[b];
      buf.fill(0);
      for (let j = 0; j < dim; j++) buf[j] = (vector[offset + j] - centre[j]) * flip[j];
      walshHadamard(buf);
      const o = outOffset + ((b * size) >> 3);
      for (let byte = 0; byte < size >> 3; byte++) {
        let bits = 0;
        const base = byte << 3;
        for (let t = 0; t < 8; t++) bits |= (buf[base + t] > 0 ? 1 : 0) << t;
        out[o + byte] = bits;
      }
    }
  }

  /** Signatures of every row of a row-major matrix, back to back. */
  signAll(data: ArrayLike<number>, rows: number): Uint8Array {
    const bytes = signatureBytes();
    const out = new Uint8Array(rows * bytes);
    for (let r = 0; r < rows; r++) this.sign(data, r * this.dim, out, r * bytes);
    return out;
  }
}

/**
 * Chance that one signature bit differs between two unit vectors with cosine `c`, signatures centred
 * on a mean of squared norm `meanNormSq`: between centred vectors a cosine c becomes about
 * (c − |m|²)/(1 − |m|²), and an angle θ flips a random-hyperplane bit with probability θ/π.
 */
export function bitFlipChance(c: number, meanNormSq: number): number {
  const centred = Math.max(-1, Math.min(1, (c - meanNormSq) / Math.max(1e-6, 1 - meanNormSq)));
  return Math.acos(centred) / Math.PI;
}
