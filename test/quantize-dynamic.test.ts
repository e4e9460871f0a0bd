// The test-support dynamic quantizer (test/support/synthetic/quantize-dynamic.ts) on small graphs:
// the arithmetic of onnxruntime's quantizer, the rewritten operator pattern, that onnxruntime runs the
// result close to fp32 and fuses it as it fuses the published q8 files, and byte-identical output.

import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder, attr, decodeModel, encodeModel } from './support/synthetic/onnx.js';
import { readModel } from './support/synthetic/onnx-read.js';
import { Prng } from './support/synthetic/prng.js';
import {
  quantRange,
  quantizeWeightPerLastAxis,
  quantizeWeightPerTensor,
  roundHalfEven,
  scaleAndZeroPoint,
} from './support/synthetic/quant-params.js';
import { quantizeDynamic, type DynamicQuantizeOptions } from './support/synthetic/quantize-dynamic.js';

const work = mkdtempSync(join(tmpdir(), 'triagem-quantize-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function census(bytes: Uint8Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of decodeModel(bytes).nodes) out[n.opType] = (out[n.opType] ?? 0) + 1;
  return out;
}

function gaussian(prng: Prng, n: number, std = 0.2): Float32Array {
  return prng.normal(n, std);
}

/**
 * A miniature of the CLIP towers: a patch Conv (with bias, to cover that path), q/k/v projections that
 * share one input, attention MatMuls on activations only, an MLP, and a text branch with an embedding
 * Gather. 2 + 3 + 1 + 1 + 1 = 8 constant-weight MatMuls, 1 Conv, 1 Gather.
 */
function miniTower(seed: number): GraphBuilder {
  const prng = new Prng(seed);
  const b = new GraphBuilder('mini');
  const pixels = b.input('pixels', 'float32', ['batch', 3, 8, 8]);
  const ids = b.input('ids', 'int64', ['batch', 4]);
  const conv = b.op('Conv', [pixels, b.float32('patch.weight', [16, 3, 4, 4], gaussian(prng, 16 * 48)), b.float32('patch.bias', [16], gaussian(prng, 16))], {
    kernel_shape: attr.ints([4, 4]),
    strides: attr.ints([4, 4]),
  });
  const tokens = b.op('Transpose', [b.op('Reshape', [conv, b.constant('int64', [0, 16, 4])])], { perm: attr.ints([0, 2, 1]) }); // [B,4,16]
  const linear = (x: string, name: string, inDim: number, outDim: number) =>
    b.op('Add', [b.op('MatMul', [x, b.float32(`${name}.weight`, [inDim, outDim], gaussian(prng, inDim * outDim))]), b.float32(`${name}.bias`, [outDim], gaussian(prng, outDim, 0.05))]);
  const h = b.op('LayerNormalization', [tokens, b.float32('ln.weight', [16], new Float32Array(16).fill(1)), b.float32('ln.bias', [16], new Float32Array(16))], {
    axis: attr.int(-1),
  });
  const q = linear(h, 'q', 16, 16);
  const k = linear(h, 'k', 16, 16);
  const v = linear(h, 'v', 16, 16);
  const scores = b.op('Softmax', [b.op('MatMul', [q, b.op('Transpose', [k], { perm: attr.ints([0, 2, 1]) })])], { axis: attr.int(-1) });
  const context = b.op('MatMul', [scores, v]);
  const x1 = b.op('Add', [tokens, linear(context, 'out', 16, 16)]);
  const up = linear(x1, 'fc1', 16, 32);
  const x2 = b.op('Add', [x1, linear(b.op('Relu', [up]), 'fc2', 32, 16)]);
  const pooled = b.op('ReduceMean', [x2], { axes: attr.ints([1]), keepdims: attr.int(0) });
  b.op('MatMul', [pooled, b.float32('proj.weight', [16, 8], gaussian(prng, 128))], {}, 'image_embeds');
  b.output('image_embeds', 'float32', ['batch', 8]);

  const embedded = b.op('Gather', [b.float32('token.weight', [50, 16], gaussian(prng, 800)), ids], { axis: attr.int(0) });
  const text = b.op('ReduceMean', [embedded], { axes: attr.ints([1]), keepdims: attr.int(0) });
  b.op('MatMul', [text, b.float32('text_proj.weight', [16, 8], gaussian(prng, 128))], {}, 'text_embeds');
  b.output('text_embeds', 'float32', ['batch', 8]);
  return b;
}

function quantized(fp32: Uint8Array, options: DynamicQuantizeOptions = {}) {
  const { graph, report } = quantizeDynamic(readModel(Buffer.from(fp32)), options);
  return { bytes: encodeModel(graph), report };
}

function feeds(seed: number, batch: number): Record<string, ort.Tensor> {
  const prng = new Prng(seed);
  return {
    pixels: new ort.Tensor('float32', gaussian(prng, batch * 192, 1), [batch, 3, 8, 8]),
    ids: new ort.Tensor('int64', BigInt64Array.from({ length: batch * 4 }, () => BigInt(Math.floor(prng.next() * 50))), [batch, 4]),
  };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

async function run(bytes: Uint8Array, input: Record<string, ort.Tensor>, options: ort.InferenceSession.SessionOptions = {}) {
  const session = await ort.InferenceSession.create(bytes, options);
  try {
    const out = await session.run(input);
    return { image: out.image_embeds.data as Float32Array, text: out.text_embeds.data as Float32Array };
  } finally {
    await session.release();
  }
}

describe('onnxruntime quantizer arithmetic', () => {
  it('rounds half to even, like Python', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 3]);
  });

  it('uses the ranges onnxruntime uses for each weight type', () => {
    expect(quantRange('uint8', true, false)).toEqual({ qmin: 0, qmax: 127 });
    expect(quantRange('uint8', false, false)).toEqual({ qmin: 0, qmax: 255 });
    expect(quantRange('int8', true, true)).toEqual({ qmin: -64, qmax: 64 });
    expect(quantRange('int8', false, true)).toEqual({ qmin: -127, qmax: 127 });
    // The range always includes 0 so that zero is representable.
    expect(scaleAndZeroPoint(0.5, 2, quantRange('uint8', false, false), false)).toEqual({ scale: Math.fround(2 / 255), zeroPoint: 0 });
    expect(scaleAndZeroPoint(-1, 3, quantRange('uint8', true, false), false)).toEqual({ scale: Math.fround(4 / 127), zeroPoint: 32 });
    expect(scaleAndZeroPoint(-1, 3, quantRange('int8', true, true), true)).toEqual({ scale: Math.fround(6 / 128), zeroPoint: 0 });
    expect(scaleAndZeroPoint(0, 0, quantRange('int8', false, true), true)).toEqual({ scale: 1, zeroPoint: 0 });
  });

  it('quantizes per output column of a [K, N] weight, symmetric for int8 and asymmetric for uint8', () => {
    // Column 0 spans [-1, 0.5], column 1 spans [0, 4].
    const w = Float32Array.from([-1, 0, 0.5, 4, 0.25, 2]);
    const s8 = quantizeWeightPerLastAxis(w, [3, 2], { type: 'int8', reduceRange: true });
    expect(Array.from(s8.zeroPoints)).toEqual([0, 0]);
    expect(Array.from(s8.scales)).toEqual([Math.fround(2 / 128), Math.fround(8 / 128)]);
    expect(Array.from(s8.values)).toEqual([-64, 0, 32, 64, 16, 32]);
    const u8 = quantizeWeightPerLastAxis(w, [3, 2], { type: 'uint8', reduceRange: true });
    expect(Array.from(u8.zeroPoints)).toEqual([85, 0]);
    expect(Array.from(u8.values)).toEqual([0, 0, 127, 127, 106, 64]);
    // Dequantized values come back within half a step.
    for (let i = 0; i < w.length; i++) {
      const c = i % 2;
      expect(Math.abs((u8.values[i] - u8.zeroPoints[c]) * u8.scales[c] - w[i])).toBeLessThanOrEqual(u8.scales[c] / 2 + 1e-7);
    }
    const whole = quantizeWeightPerTensor(w, { type: 'int8', reduceRange: false });
    expect(Array.from(whole.scales)).toEqual([Math.fround(8 / 254)]);
    expect(whole.values[3]).toBe(127);
  });
});

describe('dynamic quantization of a graph', () => {
  const fp32 = encodeModel(miniTower(5), { opset: 17 });

  it('rewrites constant-weight MatMul/Conv/Gather into the integer pattern and leaves the rest float', () => {
    const { bytes, report } = quantized(fp32);
    const ops = census(bytes);
    expect(report.weightType).toBe('uint8'); // the graph has a Conv
    expect(ops.MatMulInteger).toBe(8);
    expect(ops.ConvInteger).toBe(1);
    expect(ops.MatMul).toBe(2); // attention scores and context: B is an activation
    expect(ops.Conv).toBeUndefined();
    // One DynamicQuantizeLinear per distinct activation: pixels, h (shared by q/k/v), context, x1,
    // relu(up), the pooled image vector and the pooled text vector.
    expect(ops.DynamicQuantizeLinear).toBe(7);
    expect(ops.DequantizeLinear).toBe(1);
    expect(ops.Gather).toBe(1);
    // Per integer op: Cast + Mul(scales) + Mul(result); the Conv bias adds a Reshape and an Add.
    expect(ops.Cast).toBe(9);
    expect(ops.Mul).toBe(18);
    expect(ops.Reshape).toBe(2);

    const inits = decodeModel(bytes).initializers;
    const byName = new Map(inits.map((i) => [i.name, i]));
    // No fp32 copy of a quantized weight is left behind.
    for (const name of ['q.weight', 'patch.weight', 'token.weight', 'proj.weight']) expect(byName.has(name)).toBe(false);
    expect(byName.get('q.weight_quantized')).toMatchObject({ elemType: 'uint8', dims: [16, 16] });
    expect(byName.get('q.weight_scale')).toMatchObject({ elemType: 'float32', dims: [16] }); // per channel
    expect(byName.get('q.weight_zero_point')).toMatchObject({ elemType: 'uint8', dims: [16] });
    expect(byName.get('patch.weight_scale')).toMatchObject({ dims: [] }); // ConvInteger: per tensor
    expect(byName.get('token.weight_quantized')).toMatchObject({ elemType: 'uint8', dims: [50, 16] });
    expect(byName.get('q.bias')).toMatchObject({ elemType: 'float32' }); // biases stay float
  });

  it('uses signed weights when the graph has no Conv, as transformers.js does', () => {
    const b = new GraphBuilder('text-only');
    const x = b.input('x', 'float32', ['batch', 16]);
    b.op('MatMul', [x, b.float32('w', [16, 4], gaussian(new Prng(3), 64))], {}, 'y');
    b.output('y', 'float32', ['batch', 4]);
    const { bytes, report } = quantized(encodeModel(b));
    expect(report.weightType).toBe('int8');
    expect(decodeModel(bytes).initializers.find((i) => i.name === 'w_quantized')?.elemType).toBe('int8');
  });

  it('runs in onnxruntime with outputs close to the fp32 graph', async () => {
    const input = feeds(11, 6);
    const a = await run(fp32, input);
    const q = await run(quantized(fp32).bytes, input);
    for (const key of ['image', 'text'] as const) {
      for (let r = 0; r < 6; r++) {
        expect(cosine(a[key].subarray(r * 8, r * 8 + 8), q[key].subarray(r * 8, r * 8 + 8))).toBeGreaterThan(0.98);
      }
    }
    // Not trivially equal: the integer path does change the numbers.
    expect(Array.from(q.image)).not.toEqual(Array.from(a.image));
  });

  it('is fused by onnxruntime into its dynamic-quantization kernels, as the published files are', async () => {
    const file = join(work, 'optimized.onnx');
    await run(quantized(fp32).bytes, feeds(1, 1), { graphOptimizationLevel: 'extended', optimizedModelFilePath: file });
    const ops = census(await readFile(file));
    // Every MatMulInteger (with its DynamicQuantizeLinear, Cast and scale Muls) became one fused node.
    expect(ops.MatMulInteger).toBeUndefined();
    expect((ops.DynamicQuantizeMatMul ?? 0) + (ops.MatMulIntegerToFloat ?? 0)).toBe(8);
  });

  it('writes byte-identical files for the same input', () => {
    const again = encodeModel(miniTower(5), { opset: 17 });
    expect(Buffer.from(again).equals(Buffer.from(fp32))).toBe(true);
    expect(Buffer.from(quantized(again).bytes).equals(Buffer.from(quantized(fp32).bytes))).toBe(true);
    expect(Buffer.from(quantized(encodeModel(miniTower(6), { opset: 17 })).bytes).equals(Buffer.from(quantized(fp32).bytes))).toBe(false);
  });
});
