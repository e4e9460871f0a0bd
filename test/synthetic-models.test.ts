// Runs the generated synthetic graphs directly in onnxruntime-node (not through src/), checking that each
// honours the real file's I/O contract and that the colour model means what the other tests assume.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colourModelDir, vitB32StandInDir } from './support/models.js';
import { clipTokenizerDir } from './support/synthetic/paths.js';
import { writeColourModel } from './support/synthetic/colour-model.js';
import { CLIP_MEAN, CLIP_STD, COLOUR_PALETTE, SIGLIP_MEAN, SIGLIP_STD, colourPhrases } from './support/synthetic/colour-palette.js';
import { loadClipTokenizer } from './support/synthetic/colour-tokens.js';
import { GraphBuilder, attr, decodeModel, encodeModel, writeModelFile } from './support/synthetic/onnx.js';

const SOT = 49406;
const EOT = 49407;
const tokenizer = loadClipTokenizer(clipTokenizerDir());

type Rgb = readonly [number, number, number];
type Tensors = Record<string, ort.Tensor>;

/** [SOT, ...pieces, EOT], as the real CLIP tokenizer wraps a text. */
function wrap(text: string): number[] {
  return [SOT, ...tokenizer.encode(text, { add_special_tokens: false }).ids, EOT];
}

function idsTensor(seqs: readonly number[][], length: number, pad: number, type: 'int64' | 'int32' = 'int64'): ort.Tensor {
  const flat = seqs.flatMap((s) => {
    if (s.length > length) throw new Error(`sequence of ${s.length} longer than ${length}`);
    return [...s, ...new Array<number>(length - s.length).fill(pad)];
  });
  return type === 'int64'
    ? new ort.Tensor('int64', BigInt64Array.from(flat, (v) => BigInt(v)), [seqs.length, length])
    : new ort.Tensor('int32', Int32Array.from(flat), [seqs.length, length]);
}

/** A batch of images, each a solid colour (or `mix` of two colours by area), normalized like the preprocessor. */
function imageTensor(colours: readonly Rgb[], mean: readonly number[], std: readonly number[], mix?: { other: Rgb; fraction: number }): ort.Tensor {
  const plane = 224 * 224;
  const data = new Float32Array(colours.length * 3 * plane);
  colours.forEach((rgb, i) => {
    for (let c = 0; c < 3; c++) {
      const at = (i * 3 + c) * plane;
      data.fill((rgb[c] / 255 - mean[c]) / std[c], at, at + plane);
      if (mix) data.fill((mix.other[c] / 255 - mean[c]) / std[c], at, at + Math.round(plane * mix.fraction));
    }
  });
  return new ort.Tensor('float32', data, [colours.length, 3, 224, 224]);
}

function rows(t: ort.Tensor): Float32Array[] {
  const data = t.data as Float32Array;
  const dim = t.dims[t.dims.length - 1];
  const out: Float32Array[] = [];
  for (let i = 0; i < data.length; i += dim) out.push(data.subarray(i, i + dim));
  return out;
}

function norm(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s / (norm(a) * norm(b));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function argmax(values: readonly number[]): number {
  return values.reduce((best, v, i) => (v > values[best] ? i : best), 0);
}

async function open(file: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
}

function metadata(session: ort.InferenceSession, which: 'input' | 'output'): { name: string; type: string; shape: (number | string)[] }[] {
  const list = which === 'input' ? session.inputMetadata : session.outputMetadata;
  return list.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const samples = COLOUR_PALETTE.map((c) => c.sample);

// ---------------------------------------------------------------------------------------------------

describe('ONNX writer', () => {
  it('encodes a graph that ORT runs, with symbolic dims, typed attributes and metadata', async () => {
    const b = new GraphBuilder('small');
    const x = b.input('x', 'float32', ['batch_size', 3]);
    const ids = b.input('ids', 'int64', ['batch_size', 'sequence_length']);
    const weight = b.float32('w', [3, 2], [1, 2, 3, 4, 5, 6]);
    b.op('ReduceSum', [b.op('MatMul', [x, weight]), b.constant('int64', [-1])], { keepdims: attr.int(0) }, 'y');
    b.op('ArgMax', [b.op('Cast', [ids], { to: attr.int(6) })], { axis: attr.int(-1), keepdims: attr.int(0) }, 'first_max');
    b.op('LeakyRelu', [x], { alpha: attr.float(0.5) }, 'leaky');
    b.output('y', 'float32', ['batch_size']);
    b.output('first_max', 'int64', ['batch_size']);
    b.output('leaky', 'float32', ['batch_size', 3]);
    const bytes = encodeModel(b, { metadata: { purpose: 'test' } });

    const decoded = decodeModel(bytes);
    expect(decoded.irVersion).toBe(8);
    expect(decoded.opsets).toEqual([{ domain: '', version: 17 }]);
    expect(decoded.metadata).toEqual({ purpose: 'test' });
    expect(decoded.nodes.map((n) => n.opType)).toEqual(['MatMul', 'ReduceSum', 'Cast', 'ArgMax', 'LeakyRelu']);

    const session = await ort.InferenceSession.create(bytes);
    expect(metadata(session, 'input')).toEqual([
      { name: 'x', type: 'float32', shape: ['batch_size', 3] },
      { name: 'ids', type: 'int64', shape: ['batch_size', 'sequence_length'] },
    ]);
    const out = await session.run({
      x: new ort.Tensor('float32', Float32Array.from([1, 0, 0, -2, 1, 1]), [2, 3]),
      ids: new ort.Tensor('int64', BigInt64Array.from([1n, 49407n, 49407n, 5n, 3n, 5n]), [2, 3]),
    });
    expect(Array.from(out.y.data as Float32Array)).toEqual([3, 12]);
    expect(Array.from(out.first_max.data as BigInt64Array)).toEqual([1n, 0n]);
    expect(Array.from(out.leaky.data as Float32Array)).toEqual([1, 0, 0, -1, 1, 1]);
    await session.release();
  });

  it('refuses malformed graphs and mis-sized data with a message naming the value', () => {
    const b = new GraphBuilder('bad');
    expect(() => b.op('Relu', ['nowhere'])).toThrow(/reads "nowhere" before it is defined/);
    expect(() => b.float32('w', [2, 2], [1, 2, 3])).toThrow(/initializer w: 12 bytes of data for a 16-byte tensor/);
    b.input('x', 'float32', [1]);
    expect(() => b.input('x', 'float32', [1])).toThrow(/"x" is defined twice/);
    b.output('missing', 'float32', [1]);
    expect(() => encodeModel(b)).toThrow(/declares output "missing" that nothing produces/);

    const lazy = new GraphBuilder('lazy');
    lazy.op('Identity', [lazy.float32('w', [4], () => new Float32Array(3))], {}, 'y');
    lazy.output('y', 'float32', [4]);
    expect(() => encodeModel(lazy)).toThrow(/initializer w: 12 bytes of data for a 16-byte tensor/);
  });

  it('streams a ~360 MB model to disk one tensor at a time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'triagem-onnx-stream-'));
    try {
      const file = join(dir, 'big.onnx');
      const count = 6;
      const elements = 15_000_000; // 60 MB of float32 each
      const probe = [0, 7_654_321, elements - 1];
      // Cheap, position-dependent content, so a misplaced or truncated tensor cannot pass.
      const pattern = (t: number, i: number): number => ((Math.imul(i, 2654435761) ^ (t * 40503)) >>> 0) / 4294967296 - 0.5;
      const b = new GraphBuilder('big');
      const x = b.input('x', 'float32', [1]);
      const fileSizeWhenGenerated: number[] = [];
      const picks: string[] = [];
      for (let t = 0; t < count; t++) {
        const weight = b.float32(`w${t}`, [elements], () => {
          // Streaming means every earlier tensor is already on disk when this one is produced.
          fileSizeWhenGenerated.push(statSync(`${file}.partial`).size);
          const data = new Float32Array(elements);
          for (let i = 0; i < elements; i++) data[i] = pattern(t, i);
          return data;
        });
        picks.push(b.op('Gather', [weight, b.constant('int64', probe)], { axis: attr.int(0) }));
      }
      b.op('Add', [b.op('Concat', picks, { axis: attr.int(0) }), x], {}, 'y');
      b.output('y', 'float32', [count * probe.length]);

      const bytes = writeModelFile(file, b);
      expect(bytes).toBe(statSync(file).size);
      expect(bytes).toBeGreaterThan(count * elements * 4);
      for (let t = 1; t < count; t++) expect(fileSizeWhenGenerated[t]).toBeGreaterThan(t * elements * 4);

      const session = await open(file);
      const out = (await session.run({ x: new ort.Tensor('float32', Float32Array.from([0]), [1]) })).y.data as Float32Array;
      await session.release();
      const expected = Array.from({ length: count }, (_, t) => probe.map((i) => Math.fround(pattern(t, i)))).flat();
      expect(Array.from(out)).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------------

describe('colour model, Xenova CLIP layout', () => {
  let dir: string;
  let vision: ort.InferenceSession;
  let text: ort.InferenceSession;
  const embedImages = async (t: ort.Tensor, s = vision): Promise<Float32Array[]> => rows((await s.run({ pixel_values: t })).image_embeds);
  const embedTexts = async (t: ort.Tensor, s = text): Promise<Float32Array[]> => rows((await s.run({ input_ids: t })).text_embeds);

  beforeAll(async () => {
    dir = await colourModelDir('clip');
    vision = await open(join(dir, 'onnx/vision_model.onnx'));
    text = await open(join(dir, 'onnx/text_model.onnx'));
  });
  afterAll(async () => {
    await vision?.release();
    await text?.release();
  });

  it('declares exactly the Xenova CLIP inputs and outputs', () => {
    expect(metadata(vision, 'input')).toEqual([{ name: 'pixel_values', type: 'float32', shape: ['batch_size', 3, 224, 224] }]);
    expect(metadata(vision, 'output')).toEqual([{ name: 'image_embeds', type: 'float32', shape: ['batch_size', 512] }]);
    expect(metadata(text, 'input')).toEqual([{ name: 'input_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] }]);
    expect(metadata(text, 'output')).toEqual([{ name: 'text_embeds', type: 'float32', shape: ['batch_size', 512] }]);
  });

  it('ships the real CLIP configs and tokenizer, marked as synthetic', () => {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config._triagem_synthetic).toMatch(/not real CLIP weights/);
    expect(config.model_type).toBe('clip');
    expect(config.projection_dim).toBe(512);
    const pre = JSON.parse(readFileSync(join(dir, 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>;
    expect(pre).toEqual({
      crop_size: { height: 224, width: 224 },
      do_center_crop: true,
      do_convert_rgb: true,
      do_normalize: true,
      do_rescale: true,
      do_resize: true,
      feature_extractor_type: 'CLIPFeatureExtractor',
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_processor_type: 'CLIPImageProcessor',
      image_std: [0.26862954, 0.26130258, 0.27577711],
      resample: 3,
      rescale_factor: 0.00392156862745098,
      size: { shortest_edge: 224 },
    });
    for (const name of ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt']) {
      expect(sha256(join(dir, name))).toBe(sha256(join(clipTokenizerDir(), name)));
    }
    const onnxMeta = decodeModel(readFileSync(join(dir, 'onnx/vision_model.onnx'))).metadata;
    expect(onnxMeta.triagem_synthetic).toMatch(/not real weights/);
  });

  it('maps each solid palette colour nearest its English and Portuguese words, with and without templates', async () => {
    const images = await embedImages(imageTensor(samples, CLIP_MEAN, CLIP_STD));
    const phrases = colourPhrases();
    const texts = await embedTexts(idsTensor(phrases.map((p) => wrap(p.phrase)), 16, EOT));
    const colourOf = COLOUR_PALETTE.map((c) => c.name);
    phrases.forEach((p, j) => {
      // text → image: the phrase's best image is its colour's sample
      const best = argmax(images.map((img) => cosine(img, texts[j])));
      expect(colourOf[best], `"${p.phrase}"`).toBe(p.colour);
    });
    for (const language of ['en', 'pt'] as const) {
      // image → label: among one label per word of this language, the image picks its own colour
      const labels = phrases.filter((p) => p.language === language && !p.phrase.includes(' '));
      const labelTexts = labels.map((l) => texts[phrases.indexOf(l)]);
      images.forEach((img, i) => {
        const best = argmax(labelTexts.map((t) => cosine(img, t)));
        expect(labels[best].colour, `${colourOf[i]} image (${language})`).toBe(colourOf[i]);
      });
    }
  });

  it('handles pure primaries and mostly-one-colour photos', async () => {
    const cases: [Rgb, string][] = [
      [[255, 0, 0], 'vermelho'],
      [[0, 255, 0], 'verde'],
      [[0, 0, 255], 'azul'],
      [[255, 255, 0], 'amarelo'],
      [[0, 0, 0], 'preto'],
      [[255, 255, 255], 'branco'],
      [[255, 128, 0], 'laranja'],
    ];
    const labels = COLOUR_PALETTE.map((c) => c.pt[0]);
    const labelTexts = await embedTexts(idsTensor(labels.map(wrap), 8, EOT));
    const solid = await embedImages(imageTensor(cases.map((c) => c[0]), CLIP_MEAN, CLIP_STD));
    solid.forEach((img, i) => expect(labels[argmax(labelTexts.map((t) => cosine(img, t)))]).toBe(cases[i][1]));

    // 70% red subject on a dark background
    const mostly = await embedImages(imageTensor([[40, 30, 30]], CLIP_MEAN, CLIP_STD, { other: [220, 25, 25], fraction: 0.7 }));
    expect(labels[argmax(labelTexts.map((t) => cosine(mostly[0], t)))]).toBe('vermelho');
  });

  it('splits its similarity between two colours for a colour midway between their prototypes', async () => {
    // (225, 80, 10) sits halfway between the red and orange prototypes in the model's colour features.
    const [img] = await embedImages(imageTensor([[225, 80, 10]], CLIP_MEAN, CLIP_STD));
    const labels = COLOUR_PALETTE.map((c) => c.en[0]);
    const cos = (await embedTexts(idsTensor(labels.map(wrap), 8, EOT))).map((t) => cosine(img, t));
    const red = cos[labels.indexOf('red')];
    const orange = cos[labels.indexOf('orange')];
    expect(Math.abs(red - orange)).toBeLessThan(0.05);
    for (const [i, c] of cos.entries()) if (labels[i] !== 'red' && labels[i] !== 'orange') expect(c).toBeLessThan(red / 4);
  });

  it('pools at the first <|endoftext|>: padding with 0 or 49407, or not padding, gives the same embedding', async () => {
    const seqs = ['vermelho', 'a photo of a blue thing', 'uma foto de um carro amarelo', ''].map(wrap);
    const withEot = await embedTexts(idsTensor(seqs, 77, EOT));
    const withZero = await embedTexts(idsTensor(seqs, 77, 0));
    for (let i = 0; i < seqs.length; i++) {
      expect(maxAbsDiff(withEot[i], withZero[i])).toBeLessThan(1e-6);
      const alone = await embedTexts(idsTensor([seqs[i]], seqs[i].length, EOT));
      expect(maxAbsDiff(withEot[i], alone[0])).toBeLessThan(1e-6);
    }
  });

  it('returns raw (unnormalized), never-zero embeddings; non-colour text is unrelated to every image', async () => {
    const images = await embedImages(imageTensor(samples, CLIP_MEAN, CLIP_STD));
    const texts = await embedTexts(idsTensor(['', 'a photo of a cat', 'red'].map(wrap), 8, EOT));
    for (const e of [...images, ...texts]) {
      expect(norm(e)).toBeGreaterThan(0.05);
      expect(Math.abs(norm(e) - 1)).toBeGreaterThan(1e-3);
    }
    for (const img of images) expect(Math.abs(cosine(img, texts[1]))).toBeLessThan(0.05);
  });

  it('enforces the fixed 224×224 image size like the real graph', async () => {
    const small = new ort.Tensor('float32', new Float32Array(3 * 100 * 100), [1, 3, 100, 100]);
    await expect(vision.run({ pixel_values: small })).rejects.toThrow(/dimension|Expected/i);
  });

  it('has genuinely quantized variants: DequantizeLinear, close but not identical outputs', async () => {
    for (const tower of ['vision_model', 'text_model']) {
      const fp32Ops = decodeModel(readFileSync(join(dir, `onnx/${tower}.onnx`))).nodes.map((n) => n.opType);
      const q = decodeModel(readFileSync(join(dir, `onnx/${tower}_quantized.onnx`)));
      expect(fp32Ops).not.toContain('DequantizeLinear');
      expect(q.nodes.map((n) => n.opType)).toContain('DequantizeLinear');
      expect(q.initializers.some((i) => i.elemType === 'int8')).toBe(true);
    }
    const qVision = await open(join(dir, 'onnx/vision_model_quantized.onnx'));
    const qText = await open(join(dir, 'onnx/text_model_quantized.onnx'));
    try {
      const images = imageTensor(samples, CLIP_MEAN, CLIP_STD);
      const ids = idsTensor(COLOUR_PALETTE.map((c) => wrap(c.pt[0])), 8, EOT);
      const pairs: [Float32Array[], Float32Array[]][] = [
        [await embedImages(images), await embedImages(images, qVision)],
        [await embedTexts(ids), await embedTexts(ids, qText)],
      ];
      for (const [full, quant] of pairs) {
        full.forEach((f, i) => {
          expect(cosine(f, quant[i])).toBeGreaterThan(0.999);
          expect(maxAbsDiff(f, quant[i])).toBeGreaterThan(1e-5);
        });
      }
    } finally {
      await qVision.release();
      await qText.release();
    }
  });

  it('is deterministic: regenerating gives byte-identical graphs', () => {
    const again = mkdtempSync(join(tmpdir(), 'triagem-colour-'));
    try {
      writeColourModel(again);
      for (const f of ['vision_model', 'text_model', 'vision_model_quantized', 'text_model_quantized']) {
        expect(sha256(join(again, `onnx/${f}.onnx`)), f).toBe(sha256(join(dir, `onnx/${f}.onnx`)));
      }
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });
});

describe('colour model, text tower with attention_mask', () => {
  it('declares input_ids and attention_mask and matches the input_ids-only tower when the mask is all ones', async () => {
    const dir = await colourModelDir('clip-attention-mask');
    const plain = await open(join(await colourModelDir('clip'), 'onnx/text_model.onnx'));
    const masked = await open(join(dir, 'onnx/text_model.onnx'));
    try {
      expect(metadata(masked, 'input')).toEqual([
        { name: 'input_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] },
        { name: 'attention_mask', type: 'int64', shape: ['batch_size', 'sequence_length'] },
      ]);
      expect(masked.outputNames).toEqual(['text_embeds']);
      const seqs = ['verde', 'uma foto de roxa'].map(wrap);
      const ids = idsTensor(seqs, 10, EOT);
      const ones = idsTensor(seqs.map((s) => s.map(() => 1)), 10, 0);
      const a = rows((await plain.run({ input_ids: ids })).text_embeds);
      const b = rows((await masked.run({ input_ids: ids, attention_mask: ones })).text_embeds);
      a.forEach((row, i) => expect(maxAbsDiff(row, b[i])).toBeLessThan(1e-6));
    } finally {
      await plain.release();
      await masked.release();
    }
  });
});

describe('colour model, Xenova SigLIP layout', () => {
  let dir: string;
  let vision: ort.InferenceSession;
  let text: ort.InferenceSession;
  beforeAll(async () => {
    dir = await colourModelDir('siglip');
    vision = await open(join(dir, 'onnx/vision_model.onnx'));
    text = await open(join(dir, 'onnx/text_model.onnx'));
  });
  afterAll(async () => {
    await vision?.release();
    await text?.release();
  });

  it('declares the SigLIP inputs and both outputs', () => {
    expect(metadata(vision, 'input')).toEqual([{ name: 'pixel_values', type: 'float32', shape: ['batch_size', 3, 224, 224] }]);
    expect(metadata(vision, 'output')).toEqual([
      { name: 'last_hidden_state', type: 'float32', shape: ['batch_size', 196, 768] },
      { name: 'pooler_output', type: 'float32', shape: ['batch_size', 768] },
    ]);
    expect(metadata(text, 'input')).toEqual([{ name: 'input_ids', type: 'int64', shape: ['batch_size', 64] }]);
    expect(metadata(text, 'output')).toEqual([
      { name: 'last_hidden_state', type: 'float32', shape: ['batch_size', 64, 768] },
      { name: 'pooler_output', type: 'float32', shape: ['batch_size', 768] },
    ]);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.model_type).toBe('siglip');
    expect(config._triagem_synthetic).toMatch(/not real SigLIP weights/);
    const tok = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    expect(tok).toMatchObject({ model_max_length: 64, pad_token: '<|endoftext|>', model_input_names: ['input_ids'] });
  });

  it('matches colours through pooler_output when padded to 64 with the configured pad token', async () => {
    const images = rows((await vision.run({ pixel_values: imageTensor(samples, SIGLIP_MEAN, SIGLIP_STD) })).pooler_output);
    const labels = COLOUR_PALETTE.map((c) => `uma foto ${c.pt[c.pt.length - 1]}`);
    const texts = rows((await text.run({ input_ids: idsTensor(labels.map(wrap), 64, EOT) })).pooler_output);
    images.forEach((img, i) => expect(argmax(texts.map((t) => cosine(img, t))), labels[i]).toBe(i));
  });

  it('pools the last position, so the pad id matters', async () => {
    const seqs = ['a photo of red', 'azul'].map(wrap);
    const right = rows((await text.run({ input_ids: idsTensor(seqs, 64, EOT) })).pooler_output);
    const wrong = rows((await text.run({ input_ids: idsTensor(seqs, 64, 0) })).pooler_output);
    right.forEach((r, i) => expect(cosine(r, wrong[i])).toBeLessThan(0.9));
    const short = new ort.Tensor('int64', new BigInt64Array(77), [1, 77]);
    await expect(text.run({ input_ids: short })).rejects.toThrow(/dimension|Expected/i);
  });
});

describe('colour model, Immich layout', () => {
  it('takes batch-1 `image`/int32 `text` and returns L2-normalized `embedding`s that match colours', async () => {
    const dir = await colourModelDir('immich');
    const visual = await open(join(dir, 'visual/model.onnx'));
    const textual = await open(join(dir, 'textual/model.onnx'));
    try {
      expect(metadata(visual, 'input')).toEqual([{ name: 'image', type: 'float32', shape: [1, 3, 224, 224] }]);
      expect(metadata(visual, 'output')).toEqual([{ name: 'embedding', type: 'float32', shape: [1, 512] }]);
      expect(metadata(textual, 'input')).toEqual([{ name: 'text', type: 'int32', shape: [1, 77] }]);
      expect(metadata(textual, 'output')).toEqual([{ name: 'embedding', type: 'float32', shape: [1, 512] }]);

      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      expect(config).toMatchObject({ embed_dim: 512, vision_cfg: { image_size: 224 }, text_cfg: { context_length: 77 } });
      const pre = JSON.parse(readFileSync(join(dir, 'visual/preprocess_cfg.json'), 'utf8')) as Record<string, unknown>;
      expect(pre).toEqual({
        size: [224, 224],
        mode: 'RGB',
        mean: [0.48145466, 0.4578275, 0.40821073],
        std: [0.26862954, 0.26130258, 0.27577711],
        interpolation: 'bicubic',
        resize_mode: 'shortest',
        fill_color: 0,
      });

      const labels = COLOUR_PALETTE.map((c) => c.pt[0]);
      const texts: Float32Array[] = [];
      for (const label of labels) texts.push(rows((await textual.run({ text: idsTensor([wrap(label)], 77, EOT, 'int32') })).embedding)[0]);
      for (let i = 0; i < samples.length; i++) {
        const img = rows((await visual.run({ image: imageTensor([samples[i]], CLIP_MEAN, CLIP_STD) })).embedding)[0];
        expect(Math.abs(norm(img) - 1)).toBeLessThan(1e-5);
        expect(labels[argmax(texts.map((t) => cosine(img, t)))]).toBe(labels[i]);
      }
      for (const t of texts) expect(Math.abs(norm(t) - 1)).toBeLessThan(1e-5);
      await expect(visual.run({ image: imageTensor([samples[0], samples[1]], CLIP_MEAN, CLIP_STD) })).rejects.toThrow(/dimension|Expected/i);
    } finally {
      await visual.release();
      await textual.release();
    }
  });
});

// ---------------------------------------------------------------------------------------------------

describe.skipIf(process.env.TRIAGEM_TEST_STANDIN !== '1')('ViT-B/32 stand-in (set TRIAGEM_TEST_STANDIN=1)', () => {
  it('has the real file sizes and contract, and runs batch 8 to finite outputs', { timeout: 600_000 }, async () => {
    const dir = await vitB32StandInDir();
    const sizes = { vision: statSync(join(dir, 'onnx/vision_model.onnx')).size, text: statSync(join(dir, 'onnx/text_model.onnx')).size };
    // Xenova/clip-vit-base-patch32 pins: 351,685,709 and 254,058,553 bytes.
    expect(Math.abs(sizes.vision / 351_685_709 - 1)).toBeLessThan(0.01);
    expect(Math.abs(sizes.text / 254_058_553 - 1)).toBeLessThan(0.01);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config._triagem_synthetic).toMatch(/not real CLIP weights/);

    const vision = await ort.InferenceSession.create(join(dir, 'onnx/vision_model.onnx'));
    const text = await ort.InferenceSession.create(join(dir, 'onnx/text_model.onnx'));
    try {
      expect(metadata(vision, 'input')).toEqual([{ name: 'pixel_values', type: 'float32', shape: ['batch_size', 3, 224, 224] }]);
      expect(vision.outputNames).toEqual(['image_embeds']);
      expect(metadata(text, 'input')).toEqual([{ name: 'input_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] }]);
      expect(text.outputNames).toEqual(['text_embeds']);

      const images = rows((await vision.run({ pixel_values: imageTensor(samples.slice(0, 8), CLIP_MEAN, CLIP_STD) })).image_embeds);
      expect(images).toHaveLength(8);
      for (const e of images) {
        expect(e.every(Number.isFinite)).toBe(true);
        expect(norm(e)).toBeGreaterThan(0);
      }
      const seqs = COLOUR_PALETTE.slice(0, 8).map((c) => wrap(`a photo of ${c.en[0]}`));
      const a = rows((await text.run({ input_ids: idsTensor(seqs, 77, EOT) })).text_embeds);
      const b = rows((await text.run({ input_ids: idsTensor(seqs, 77, 0) })).text_embeds);
      expect(a).toHaveLength(8);
      a.forEach((row, i) => {
        expect(row.every(Number.isFinite)).toBe(true);
        // causal mask + pooling at the first <|endoftext|>: padding cannot matter
        expect(maxAbsDiff(row, b[i])).toBeLessThan(1e-4);
      });
    } finally {
      await vision.release();
      await text.release();
    }
  });
});
