// The re-scoring copy of each embedding: 16-bit fixed point, value · 32767.
//
// Why a copy at all: a vec0 point read (`WHERE rowid = ?`) walks the overflow chain of a ~2 MB chunk
// blob and costs ~200 µs, so re-scoring a thousand candidates from vec0 would take ~200 ms. One row per
// content in a plain table reads in ~6 µs. Embeddings are L2-normalized, so every component lies in
// [-1, 1] and fixed point has a uniform error of at most 1.5e-5 per component — cosines differ from
// float32 by about 1e-5, far below the gaps between neighbouring results.

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
  return new Int16Array(Uint8Array.from(blob).buffer);
}

export function decodeFixed16(blob: Buffer, out: Float32Array = new Float32Array(blob.length >> 1), offset = 0): Float32Array {
  const v = fixed16View(blob);
  for (let j = 0; j < v.length; j++) out[offset + j] = v[j] * INV_SCALE;
  return out;
}

/** q · decode(blob) without materialising the decoded vector. */
export function dotFixed16(query: Float32Array, blob: Buffer): number {
  const v = fixed16View(blob);
  let s = 0;
  for (let j = 0; j < v.length; j++) s += query[j] * v[j];
  return s * INV_SCALE;
}
