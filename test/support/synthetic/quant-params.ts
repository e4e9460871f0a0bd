// Weight quantization arithmetic as onnxruntime's Python quantizer does it
// (onnxruntime/python/tools/quantization/quant_utils.py: get_qmin_qmax_for_qType, compute_scale_zp,
// quantize_nparray, as of the 1.14–1.15 releases that transformers.js's convert.py used in 2023), so a
// quantized stand-in carries the same value ranges, zero points and rounding as the published files:
//
//   range   = [min(rmin, 0), max(rmax, 0)], made symmetric (±max|r|) for signed weights
//   scale   = (rmax − rmin) / (qmax − qmin)        in float64, stored as float32
//   zero    = round(qmin − rmin / scale)            Python round: half to even
//   q       = clip(round(float32(x / float32(scale))) + zero, −127 | 0, 127 | 255)
//
// reduce_range keeps weights to 7 bits (uint8 0..127, int8 −64..64) so u8·s8 products summed in pairs
// cannot saturate 16-bit lanes on CPUs without VNNI.

export type WeightType = 'int8' | 'uint8';

export interface QuantRange {
  qmin: number;
  qmax: number;
}

export function quantRange(type: WeightType, reduceRange: boolean, symmetric: boolean): QuantRange {
  if (type === 'uint8') return reduceRange ? { qmin: 0, qmax: 127 } : { qmin: 0, qmax: 255 };
  if (reduceRange) return { qmin: -64, qmax: 64 };
  return symmetric ? { qmin: -127, qmax: 127 } : { qmin: -128, qmax: 127 };
}

/** Python's round(): to the nearest integer, ties to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round sends ties up; move the ones that landed on an odd number back down.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const FLOAT32_TINY = 1.1754943508222875e-38;

export interface ScaleZero {
  /** float32 value, as stored in the model. */
  scale: number;
  zeroPoint: number;
}

export function scaleAndZeroPoint(rmin: number, rmax: number, range: QuantRange, symmetric: boolean): ScaleZero {
  let lo = Math.min(rmin, 0);
  let hi = Math.max(rmax, 0);
  if (symmetric) {
    const absmax = Math.max(Math.abs(lo), Math.abs(hi));
    lo = -absmax;
    hi = absmax;
  }
  const scale = (hi - lo) / (range.qmax - range.qmin);
  if (scale < FLOAT32_TINY) return { scale: 1, zeroPoint: 0 };
  return { scale: Math.fround(scale), zeroPoint: roundHalfEven(range.qmin - lo / scale) };
}

/** The clip bounds quantize_nparray applies: the type's range with −128 excluded. */
function clipBounds(type: WeightType): QuantRange {
  return type === 'uint8' ? { qmin: 0, qmax: 255 } : { qmin: -127, qmax: 127 };
}

export function quantizeValue(x: number, p: ScaleZero, clip: QuantRange): number {
  const q = roundHalfEven(Math.fround(x / p.scale)) + p.zeroPoint;
  return q < clip.qmin ? clip.qmin : q > clip.qmax ? clip.qmax : q;
}

export interface QuantizedTensor {
  type: WeightType;
  values: Int8Array | Uint8Array;
  /** One entry (per tensor) or one per channel. */
  scales: Float32Array;
  zeroPoints: Int8Array | Uint8Array;
}

function allocate(type: WeightType, n: number): Int8Array | Uint8Array {
  return type === 'int8' ? new Int8Array(n) : new Uint8Array(n);
}

export interface WeightQuantOptions {
  type: WeightType;
  reduceRange: boolean;
  /** onnxruntime makes signed weights symmetric and unsigned ones asymmetric. */
  symmetric?: boolean;
}

function symmetricFor(o: WeightQuantOptions): boolean {
  return o.symmetric ?? o.type === 'int8';
}

/** One scale and zero point for the whole tensor (quantize_weight). */
export function quantizeWeightPerTensor(data: Float32Array, o: WeightQuantOptions): QuantizedTensor {
  let rmin = 0;
  let rmax = 0;
  if (data.length) {
    rmin = Infinity;
    rmax = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < rmin) rmin = v;
      if (v > rmax) rmax = v;
    }
  }
  const symmetric = symmetricFor(o);
  const p = scaleAndZeroPoint(rmin, rmax, quantRange(o.type, o.reduceRange, symmetric), symmetric);
  const clip = clipBounds(o.type);
  const values = allocate(o.type, data.length);
  for (let i = 0; i < data.length; i++) values[i] = quantizeValue(data[i], p, clip);
  const zeroPoints = allocate(o.type, 1);
  zeroPoints[0] = p.zeroPoint;
  return { type: o.type, values, scales: Float32Array.of(p.scale), zeroPoints };
}

/**
 * One scale and zero point per slice along the last axis of a row-major tensor
 * (quantize_weight_per_channel with axis −1: per output column of a [K, N] MatMul weight).
 */
export function quantizeWeightPerLastAxis(data: Float32Array, dims: readonly number[], o: WeightQuantOptions): QuantizedTensor {
  const n = dims[dims.length - 1];
  if (!n || data.length % n !== 0) throw new Error(`cannot quantize a [${dims.join(',')}] tensor per last-axis channel`);
  const rmin = new Float64Array(n).fill(Infinity);
  const rmax = new Float64Array(n).fill(-Infinity);
  for (let i = 0; i < data.length; i += n) {
    for (let j = 0; j < n; j++) {
      const v = data[i + j];
      if (v < rmin[j]) rmin[j] = v;
      if (v > rmax[j]) rmax[j] = v;
    }
  }
  const symmetric = symmetricFor(o);
  const range = quantRange(o.type, o.reduceRange, symmetric);
  const clip = clipBounds(o.type);
  const params = Array.from({ length: n }, (_, j) => scaleAndZeroPoint(rmin[j], rmax[j], range, symmetric));
  const values = allocate(o.type, data.length);
  for (let i = 0; i < data.length; i += n) {
    for (let j = 0; j < n; j++) values[i + j] = quantizeValue(data[i + j], params[j], clip);
  }
  const zeroPoints = allocate(o.type, n);
  params.forEach((p, j) => (zeroPoints[j] = p.zeroPoint));
  return { type: o.type, values, scales: Float32Array.from(params, (p) => p.scale), zeroPoints };
}
