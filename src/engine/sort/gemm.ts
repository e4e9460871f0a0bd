// The image × label cosine matrix of a whole library in one ONNX Runtime MatMul.
//
// At 100k × 512 × 10 the JavaScript kernel (scoring.ts cosineMatrix, blocked, one thread) takes
// ~370 ms; ONNX Runtime's MLAS GEMM uses the CPU's vector units and every core, which is what a
// re-sort under a second needs (bench sort). Small matrices stay in JavaScript: opening the session
// and crossing into native code would cost more than the arithmetic.
import { ort } from '../models/runtime.js';
import { matmulModel } from '../models/tiny-onnx.js';
import type { Scoring } from '../models/types.js';
import { applyScoring, cosineMatrix, type LabelMatrix } from './scoring.js';

/** Below this many multiply-adds the JavaScript kernel wins (measured: ~2 ms of session overhead). */
const NATIVE_FROM = 1 << 24;

let session: Promise<ort.InferenceSession> | undefined;

function matmul(): Promise<ort.InferenceSession> {
  if (!session) {
    session = ort.InferenceSession.create(matmulModel(), { executionProviders: ['cpu'], logSeverityLevel: 3 });
    session.catch(() => (session = undefined));
  }
  return session;
}

/**
 * Same result as `cosineMatrix` (rows × count, row-major), up to float32 rounding: MLAS sums in
 * float32, the JavaScript kernel in doubles, so scores differ by ~1e-7 — far below any threshold
 * a person sets, and ties that close are already arbitrary.
 */
export async function cosineMatrixFast(images: Float32Array, rows: number, labels: LabelMatrix): Promise<Float32Array> {
  const { count, dim, data } = labels;
  if (rows * count * dim < NATIVE_FROM || count === 0) return cosineMatrix(images, rows, labels);
  if (images.length < rows * dim) throw new Error(`image matrix holds ${images.length} floats, need ${rows * dim}`);
  // Labels are stored one row per label; MatMul wants them as columns.
  const columns = new Float32Array(dim * count);
  for (let k = 0; k < count; k++) for (let d = 0; d < dim; d++) columns[d * count + k] = data[k * dim + d];
  const a = new ort.Tensor('float32', images.length === rows * dim ? images : images.subarray(0, rows * dim), [rows, dim]);
  const b = new ort.Tensor('float32', columns, [dim, count]);
  const out = await (await matmul()).run({ a, b });
  const y = out.y;
  const result = new Float32Array(y.data as Float32Array);
  y.dispose?.();
  return result;
}

/** `scoreMatrix` with the cosines from `cosineMatrixFast`. */
export async function scoreMatrixFast(images: Float32Array, rows: number, labels: LabelMatrix, scoring: Scoring): Promise<Float32Array> {
  return applyScoring(await cosineMatrixFast(images, rows, labels), labels.count, scoring);
}
