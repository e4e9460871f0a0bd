// The quantized ViT-B/32 stand-in (onnx/*_quantized.onnx beside the fp32 graphs): the operator
// census of the real q8 files, what `--precision auto` loads, and embeddings that follow fp32's.
// Generating the stand-in writes and reads back ~600 MB, so this runs only with TRIAGEM_TEST_STANDIN=1,
// like the fp32 stand-in test in synthetic-models.test.ts.

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/engine/models/model.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { sharedDir, vitB32StandInDir } from './support/models.js';
import {
  CLIP_B32_Q8_BYTES,
  CLIP_B32_Q8_CENSUS,
  CLIP_B32_Q8_QUANTIZED_WEIGHTS,
  CLIP_B32_Q8_WEIGHT_TYPE,
  operatorCensus,
  type Tower,
} from './support/synthetic/clip-q8-census.js';
import { decodeModel, type DecodedModel } from './support/synthetic/onnx.js';

const TOWERS: Tower[] = ['vision', 'text'];

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function cosine(a: Float32Array, b: Float32Array): number {
  return dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
}

/** Rows minus their mean: what distinguishes the inputs, not what every output shares. */
function centred(rows: Float32Array[]): Float32Array[] {
  const mean = new Float32Array(rows[0].length);
  for (const r of rows) r.forEach((v, k) => (mean[k] += v / rows.length));
  return rows.map((r) => r.map((v, k) => v - mean[k]));
}

function devsetImages(n: number): string[] {
  const root = join(sharedDir(), 'devset');
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (/\.jpe?g$/i.test(e.name)) out.push(join(dir, e.name));
    }
  };
  walk(root);
  return out.sort().slice(0, n);
}

describe.skipIf(process.env.TRIAGEM_TEST_STANDIN !== '1')('quantized ViT-B/32 stand-in (set TRIAGEM_TEST_STANDIN=1)', () => {
  let dir = '';
  const graphs = {} as Record<Tower, DecodedModel>;
  const work = mkdtempSync(join(tmpdir(), 'triagem-q8-'));

  beforeAll(async () => {
    dir = await vitB32StandInDir();
    for (const tower of TOWERS) graphs[tower] = decodeModel(readFileSync(join(dir, `onnx/${tower}_model_quantized.onnx`)));
  }, 600_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('has the operator census and weight types of the real q8 graphs, and their file sizes', () => {
    for (const tower of TOWERS) {
      const g = graphs[tower];
      const census = operatorCensus(g.nodes);
      for (const [op, count] of Object.entries(CLIP_B32_Q8_CENSUS[tower])) expect({ tower, op, count: census[op] ?? 0 }).toEqual({ tower, op, count });

      // Every integer op is rescaled the way onnxruntime's quantizer writes it: Cast to float, then a
      // Mul by (activation scale × weight scale).
      const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
      const readers = (value: string) => g.nodes.filter((n) => n.inputs.includes(value));
      for (const n of g.nodes.filter((x) => x.opType === 'MatMulInteger' || x.opType === 'ConvInteger')) {
        expect(producer.get(n.inputs[0])?.opType).toBe('DynamicQuantizeLinear');
        const [cast] = readers(n.outputs[0]);
        expect(cast.opType).toBe('Cast');
        const [mul] = readers(cast.outputs[0]);
        expect(mul.opType).toBe('Mul');
        const scales = producer.get(mul.inputs.find((i) => i !== cast.outputs[0])!);
        expect(scales?.opType).toBe('Mul');
        expect(scales?.inputs[0]).toBe(producer.get(n.inputs[0])!.outputs[1]); // the activation's scale
      }

      const type = CLIP_B32_Q8_WEIGHT_TYPE[tower];
      const quantized = g.initializers.filter((i) => i.name.endsWith('_quantized'));
      expect(quantized).toHaveLength(CLIP_B32_Q8_QUANTIZED_WEIGHTS[tower]);
      for (const q of quantized) expect({ name: q.name, elemType: q.elemType }).toEqual({ name: q.name, elemType: type });
      expect(g.initializers.filter((i) => i.name.endsWith('_zero_point') && i.elemType === type)).toHaveLength(CLIP_B32_Q8_QUANTIZED_WEIGHTS[tower]);
      // No float copy of a quantized weight stays behind.
      const names = new Set(g.initializers.map((i) => i.name));
      for (const q of quantized) expect(names.has(q.name.slice(0, -'_quantized'.length))).toBe(false);

      const bytes = statSync(join(dir, `onnx/${tower}_model_quantized.onnx`)).size;
      expect(Math.abs(bytes / CLIP_B32_Q8_BYTES[tower] - 1)).toBeLessThan(0.015);
    }
    const config = JSON.parse(readFileSync(join(dir, 'quantize_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      per_channel: true,
      reduce_range: true,
      per_model_config: { vision_model: { weight_type: 'QuantType.QUInt8' }, text_model: { weight_type: 'QuantType.QInt8' } },
    });
  });

  it('is what --precision auto loads, and its embeddings follow the fp32 stand-in on the same inputs', { timeout: 600_000 }, async () => {
    const auto = await loadModel(dir, { device: 'cpu', precision: 'auto', batchSize: 8 });
    const fp32 = await loadModel(dir, { device: 'cpu', precision: 'fp32', batchSize: 8 });
    const models: ClipModel[] = [auto, fp32];
    try {
      expect(auto.info.precision).toBe('quantized');
      expect(auto.info.files).toEqual({ vision: 'onnx/vision_model_quantized.onnx', text: 'onnx/text_model_quantized.onnx' });
      expect(fp32.info.files).toEqual({ vision: 'onnx/vision_model.onnx', text: 'onnx/text_model.onnx' });

      const images = devsetImages(8);
      expect(images).toHaveLength(8);
      const texts = ['a photo of a cat', 'um ônibus queimado perto da ponte', 'documento oficial', 'a crowd at night', 'uma criança na praia', 'tank', 'a red car', 'protesto na avenida'];
      const pairs = [
        { what: 'images', q: await auto.encodeImages(images), f: await fp32.encodeImages(images) },
        { what: 'texts', q: await auto.encodeTexts(texts), f: await fp32.encodeTexts(texts) },
      ];
      for (const { what, q, f } of pairs) {
        for (let i = 0; i < q.length; i++) expect({ what, i, ok: cosine(q[i], f[i]) > 0.9 }).toEqual({ what, i, ok: true });
        // The stand-in's outputs share a large common part; what tells inputs apart must survive too.
        const cq = centred(q);
        const cf = centred(f);
        for (let i = 0; i < q.length; i++) expect({ what, i, ok: cosine(cq[i], cf[i]) > 0.9 }).toEqual({ what, i, ok: true });
      }
    } finally {
      for (const m of models) await m.close();
    }
  });

  it('is fused by onnxruntime into its dynamic-quantization kernels', { timeout: 600_000 }, async () => {
    const file = join(work, 'vision-optimized.onnx');
    const session = await ort.InferenceSession.create(join(dir, 'onnx/vision_model_quantized.onnx'), {
      graphOptimizationLevel: 'extended',
      optimizedModelFilePath: file,
    });
    await session.release();
    const census = operatorCensus(decodeModel(readFileSync(file)).nodes);
    expect(census.MatMulInteger).toBeUndefined();
    expect((census.DynamicQuantizeMatMul ?? 0) + (census.MatMulIntegerToFloat ?? 0)).toBe(CLIP_B32_Q8_CENSUS.vision.MatMulInteger);
  });
});
