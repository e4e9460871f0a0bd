// Small dense linear algebra in float64 for building synthetic weights (matrices of a few hundred rows).

import { Prng } from './prng.js';

/** `count` orthonormal rows of length `dim` (Gram–Schmidt on seeded Gaussian vectors), row-major. */
export function orthonormalRows(count: number, dim: number, prng: Prng): Float64Array {
  if (count > dim) throw new Error(`cannot build ${count} orthonormal rows in ${dim} dimensions`);
  const rows = new Float64Array(count * dim);
  for (let r = 0; r < count; r++) {
    const row = rows.subarray(r * dim, (r + 1) * dim);
    for (;;) {
      for (let i = 0; i < dim; i++) row[i] = prng.gaussian();
      // Two passes of projection keep the basis orthogonal to float64 precision.
      for (let pass = 0; pass < 2; pass++) {
        for (let p = 0; p < r; p++) {
          const prev = rows.subarray(p * dim, (p + 1) * dim);
          let dot = 0;
          for (let i = 0; i < dim; i++) dot += row[i] * prev[i];
          for (let i = 0; i < dim; i++) row[i] -= dot * prev[i];
        }
      }
      let norm = 0;
      for (let i = 0; i < dim; i++) norm += row[i] * row[i];
      norm = Math.sqrt(norm);
      if (norm > 1e-6) {
        for (let i = 0; i < dim; i++) row[i] /= norm;
        break;
      }
    }
  }
  return rows;
}

/** Solves S·X = B for symmetric positive definite S (n×n) and B (n×m), both row-major, by Cholesky. */
export function solveSpd(s: Float64Array, n: number, b: Float64Array, m: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = s[i * n + j];
      for (let k = 0; k < j; k++) sum -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (sum <= 0) throw new Error('matrix is not positive definite');
        l[i * n + i] = Math.sqrt(sum);
      } else {
        l[i * n + j] = sum / l[j * n + j];
      }
    }
  }
  const x = new Float64Array(b);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let sum = x[i * m + c];
      for (let k = 0; k < i; k++) sum -= l[i * n + k] * x[k * m + c];
      x[i * m + c] = sum / l[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let sum = x[i * m + c];
      for (let k = i + 1; k < n; k++) sum -= l[k * n + i] * x[k * m + c];
      x[i * m + c] = sum / l[i * n + i];
    }
  }
  return x;
}

/** Symmetric int8 quantization with one scale for the whole tensor (zero point 0). */
export function quantizePerTensor(data: Float32Array): { values: Int8Array; scale: number } {
  let max = 0;
  for (const v of data) max = Math.max(max, Math.abs(v));
  const scale = max > 0 ? max / 127 : 1;
  const values = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) values[i] = Math.max(-127, Math.min(127, Math.round(data[i] / scale)));
  return { values, scale };
}

/** Symmetric int8 quantization with one scale per row of a row-major [rows, cols] matrix. */
export function quantizePerRow(data: Float32Array, rows: number, cols: number): { values: Int8Array; scales: Float32Array } {
  const values = new Int8Array(rows * cols);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(data[r * cols + c]));
    const scale = max > 0 ? max / 127 : 1;
    scales[r] = scale;
    for (let c = 0; c < cols; c++) {
      values[r * cols + c] = Math.max(-127, Math.min(127, Math.round(data[r * cols + c] / scale)));
    }
  }
  return { values, scales };
}
