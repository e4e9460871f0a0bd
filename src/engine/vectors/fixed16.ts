// The stored form of every embedding: 16-bit fixed point, value · 32767.
//
// Embeddings are L2-normalized, so every component lies in [-1, 1] and fixed point has a uniform
// error of at most 1.5e-5 per component: cosines differ from float32 by about 1e-5 (bench `vectors`,
// `fixed16` row), far below the gaps between neighbouring results or between a sort's labels. Half
// the bytes of float32, and a plain row per content reads in microseconds, which the index's exact
// re-scoring and near-duplicate confirmation rely on.

const SCALE = 32767;
const INV_SCALE = 1 / SCALE;

export function encodeFixed16(v: Float32Array | ArrayLike<number>, offset = 0, dim = v.length): Buffer {
  const out = new Int16Array(dim);
  for (let j = 0; j < dim; j++) {
    const x = v[offset + j];
    const c = x > 1 ? 1 : x < -1 ? -1 : x;
    // Int16Array stores by truncation toward zero, so ±0.5 rounds half away from zero.
    out[j] = c * SCALE + (c >= 0 ? 0.5 : -0.5);
  }
  return Buffer.from(out.buffer);
}

/** An Int16Array over the blob, copying only when SQLite handed back an odd byte offset. */
export function fixed16View(blob: Buffer): Int16Array {
  if (blob.byteOffset % 2 === 0) return new Int16Array(blob.buffer, blob.byteOffset, blob.length >> 1);
  return new Int16Array(new Uint8Array(blob).buffer);
}

export function decodeFixed16(blob: Buffer | Int16Array, out: Float32Array = new Float32Array(blob.length >> (blob instanceof Int16Array ? 0 : 1)), offset = 0): Float32Array {
  const v = blob instanceof Int16Array ? blob : fixed16View(blob);
  for (let j = 0; j < v.length; j++) out[offset + j] = v[j] * INV_SCALE;
  return out;
}

/** q · decode(v) without materialising the decoded vector. */
export function dotFixed16(query: Float32Array, v: Buffer | Int16Array): number {
  const x = v instanceof Int16Array ? v : fixed16View(v);
  let s = 0;
  for (let j = 0; j < x.length; j++) s += query[j] * x[j];
  return s * INV_SCALE;
}

/** Cosine of two stored (unit-norm) vectors. */
export function cosineFixed16(a: Int16Array, b: Int16Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j] * b[j];
  return s * (INV_SCALE * INV_SCALE);
}
