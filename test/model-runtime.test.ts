import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, dot } from '../src/engine/models/model.js';
import { openSession, describeDevice, platformAccelerator, SESSION_CONFIG } from '../src/engine/models/runtime.js';
import { validateModelFolder } from '../src/engine/models/validate.js';
import { TextTokenizer } from '../src/engine/models/tokenizer.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { COLOUR_PALETTE } from './support/synthetic/colour-palette.js';
import { colourModelDir } from './support/models.js';
import { clipTokenizerDir } from './support/synthetic/paths.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-rt-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function solidPhoto(name: string, rgb: readonly [number, number, number], size: [number, number] = [320, 240]): Promise<string> {
  const file = path.join(tmp, name);
  // A little texture so the JPEG is photo-like rather than one flat block.
  const [w, h] = size;
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const n = ((i * 2654435761) >>> 24) % 15;
    px[i * 3] = Math.min(255, rgb[0] + n);
    px[i * 3 + 1] = Math.min(255, rgb[1] + n);
    px[i * 3 + 2] = Math.min(255, rgb[2] + n);
  }
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile(file);
  return file;
}

const colour = (name: string) => COLOUR_PALETTE.find((c) => c.name === name)!;

describe('colour model through the real loading code (Xenova CLIP layout)', () => {
  let model: ClipModel;
  let dir: string;
  beforeAll(async () => {
    dir = await colourModelDir();
    model = await loadModel(dir, { device: 'cpu' });
  });
  afterAll(() => model?.close());

  it('reads the layout, prefers the quantized graphs, and reports CPU', () => {
    expect(model.info).toMatchObject({ family: 'clip', layout: 'xenova', dim: 512, precision: 'quantized' });
    expect(model.info.files).toEqual({ vision: 'onnx/vision_model_quantized.onnx', text: 'onnx/text_model_quantized.onnx' });
    expect(model.info.image).toMatchObject({ size: 224, resizeMode: 'shortest-crop', interpolation: 'bicubic' });
    expect(model.info.text).toMatchObject({ contextLength: 77, padId: 49407, eosId: 49407, padding: 'longest' });
    expect(model.info.device).toEqual({ requested: 'cpu', provider: 'cpu' });
    expect(model.info.scoring).toEqual({ kind: 'softmax', logitScale: 100, logitBias: 0 });
  });

  it('tokenizes exactly like the real CLIP tokenizer', () => {
    const ref = TextTokenizer.load(clipTokenizerDir(), {
      contextLength: 77, padding: 'longest', lowercase: false, stripPunctuation: false, padToken: '<|endoftext|>', eosToken: '<|endoftext|>',
    });
    for (const text of ['uma foto vermelha', 'A photo of a RED car!', 'tanque destruído perto de uma ponte']) {
      expect(model.tokenize(text).input_ids).toEqual(ref.ids(text));
    }
  });

  it('returns L2-normalized embeddings, identical whether batched or one at a time', async () => {
    const files = await Promise.all(['red', 'green', 'blue', 'yellow', 'black'].map((c) => solidPhoto(`${c}.jpg`, colour(c).sample)));
    const batched = await model.encodeImages(files);
    for (const [i, f] of files.entries()) {
      const [single] = await model.encodeImages([f]);
      expect(dot(single, batched[i])).toBeCloseTo(1, 5);
      expect(dot(single, single)).toBeCloseTo(1, 5);
    }
    const texts = await model.encodeTexts(['vermelho', 'uma foto de um carro azul muito muito longa com muitas palavras']);
    for (const t of texts) expect(dot(t, t)).toBeCloseTo(1, 5);
  });

  it('sorts a red photo into "vermelho" and a blue one into "blue", with softmax scores', async () => {
    const labels = ['vermelho', 'verde', 'azul', 'amarelo'];
    const textEmb = await model.encodeTexts(labels.map((l) => `uma foto de ${l}`));
    const [red, blue] = await model.encodeImages([await solidPhoto('r.jpg', colour('red').sample), await solidPhoto('b.jpg', colour('blue').sample)]);
    const redScores = model.scoreLabels(red, textEmb);
    expect(labels[redScores.indexOf(Math.max(...redScores))]).toBe('vermelho');
    expect(redScores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const en = await model.encodeTexts(['a photo of red', 'a photo of green', 'a photo of blue']);
    const blueScores = model.scoreLabels(blue, en);
    expect(blueScores.indexOf(Math.max(...blueScores))).toBe(2);
  });

  it('opens sessions with the app\'s ONNX Runtime config and with a caller\'s entries over it, embedding alike', async () => {
    expect(SESSION_CONFIG['session.intra_op.allow_spinning']).toBe('0');
    const file = await solidPhoto('spin.jpg', colour('purple').sample);
    const spinning = await loadModel(dir, { device: 'cpu', sessionConfig: { 'session.intra_op.allow_spinning': '1', 'session.dynamic_block_base': '4' } });
    try {
      const [a] = await spinning.encodeImages([file]);
      const [b] = await model.encodeImages([file]);
      expect(dot(a, b)).toBeCloseTo(1, 6);
    } finally {
      await spinning.close();
    }
    // Entries reach the binding as strings only; anything else is refused there, not silently dropped.
    await expect(openSession(path.join(dir, model.info.files.vision), 'cpu', { config: { 'session.dynamic_block_base': 4 as unknown as string } })).rejects.toThrow(
      /extra value must be a string|cannot load ONNX graph/,
    );
  });

  it('uses the fp32 graphs when asked; quantized embeddings stay close but are not identical', async () => {
    const fp32 = await loadModel(dir, { device: 'cpu', precision: 'fp32' });
    try {
      expect(fp32.info.files.vision).toBe('onnx/vision_model.onnx');
      const file = await solidPhoto('o.jpg', colour('orange').sample);
      const [a] = await fp32.encodeImages([file]);
      const [b] = await model.encodeImages([file]);
      expect(dot(a, b)).toBeGreaterThan(0.98);
      expect(Array.from(a)).not.toEqual(Array.from(b));
    } finally {
      await fp32.close();
    }
  });
});

describe('opening the image tower on first use', () => {
  it('answers text at once, opens the image tower for the first image, and checks it then', async () => {
    const dir = path.join(tmp, 'lazy-vision');
    fs.cpSync(await colourModelDir(), dir, { recursive: true });
    const good = await loadModel(dir, { device: 'cpu', precision: 'fp32' });
    const [red] = await good.encodeImages([await sharp({ create: { width: 64, height: 64, channels: 3, background: '#d01010' } }).png().toBuffer()]);
    await good.close();
    // A damaged image graph: an eager load refuses it; an on-first-use load serves text and fails
    // only when an image is encoded, naming the file, and the text tower keeps working.
    fs.writeFileSync(path.join(dir, 'onnx', 'vision_model.onnx'), Buffer.from('not an onnx graph'));
    await expect(loadModel(dir, { device: 'cpu', precision: 'fp32' })).rejects.toThrow();
    const lazy = await loadModel(dir, { device: 'cpu', precision: 'fp32', openVision: 'on-first-use' });
    try {
      expect(lazy.info.dim).toBe(red.length);
      const [text] = await lazy.encodeTexts(['vermelho']);
      expect(dot(text, red)).toBeGreaterThan(0.5);
      await expect(lazy.encodeImages([await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toBuffer()])).rejects.toThrow(/vision_model\.onnx/);
      expect((await lazy.encodeTexts(['azul']))[0].length).toBe(red.length);
    } finally {
      await lazy.close();
    }
    // Repaired, the same kind of load encodes images exactly as an eager one.
    fs.cpSync(path.join(await colourModelDir(), 'onnx', 'vision_model.onnx'), path.join(dir, 'onnx', 'vision_model.onnx'));
    const repaired = await loadModel(dir, { device: 'cpu', precision: 'fp32', openVision: 'on-first-use' });
    try {
      const [again] = await repaired.encodeImages([await sharp({ create: { width: 64, height: 64, channels: 3, background: '#d01010' } }).png().toBuffer()]);
      expect(dot(again, red)).toBeGreaterThan(0.9999);
    } finally {
      await repaired.close();
    }
  });
});

describe('other real contracts', () => {
  it('feeds attention_mask only to a text tower that declares it', async () => {
    const plain = await loadModel(await colourModelDir(), { device: 'cpu', precision: 'fp32' });
    const masked = await loadModel(await colourModelDir('clip-attention-mask'), { device: 'cpu', precision: 'fp32' });
    try {
      const [a, b] = await Promise.all([plain.encodeTexts(['uma foto verde']), masked.encodeTexts(['uma foto verde'])]);
      expect(dot(a[0], b[0])).toBeGreaterThan(0.999);
    } finally {
      await Promise.all([plain.close(), masked.close()]);
    }
  });

  it('SigLIP layout: fixed 64-token padding, pooler_output, sigmoid scoring', async () => {
    const model = await loadModel(await colourModelDir('siglip'), { device: 'cpu' });
    try {
      expect(model.info.family).toBe('siglip');
      expect(model.info.image.resizeMode).toBe('squash');
      expect(model.info.scoring.kind).toBe('sigmoid');
      expect(model.tokenize('verde').input_ids).toHaveLength(64);
      const labels = ['red', 'green', 'blue'];
      const t = await model.encodeTexts(labels);
      const [img] = await model.encodeImages([await solidPhoto('g.jpg', colour('green').sample)]);
      const scores = model.scoreLabels(img, t);
      expect(labels[scores.indexOf(Math.max(...scores))]).toBe('green');
      // Sigmoid scores are independent per label: no normalization across them.
      expect(scores[1]).toBeGreaterThan(0.99);
      expect(scores[0] + scores[2]).toBeLessThan(0.01);
    } finally {
      await model.close();
    }
  });

  it('Immich layout: batch-1 graphs, int32 text, already-normalized output', async () => {
    const model = await loadModel(await colourModelDir('immich'), { device: 'cpu' });
    try {
      expect(model.info.layout).toBe('immich');
      expect(model.tokenize('azul').input_ids).toHaveLength(77);
      const files = await Promise.all(['red', 'blue', 'white'].map((c) => solidPhoto(`i-${c}.jpg`, colour(c).sample)));
      const emb = await model.encodeImages(files);
      expect(emb).toHaveLength(3);
      const t = await model.encodeTexts(['vermelho', 'azul', 'branco']);
      for (let i = 0; i < 3; i++) {
        const scores = model.scoreLabels(emb[i], t);
        expect(scores.indexOf(Math.max(...scores))).toBe(i);
      }
    } finally {
      await model.close();
    }
  });
});

describe('execution providers', () => {
  it('maps each platform to its accelerator', () => {
    expect(platformAccelerator('linux', 'x64')).toBe('cuda');
    expect(platformAccelerator('win32', 'x64')).toBe('dml');
    expect(platformAccelerator('darwin', 'arm64')).toBe('coreml');
    expect(platformAccelerator('linux', 'arm64')).toBeNull();
  });

  it('falls back to CPU with a reason when the accelerator cannot be used, and the model still works', async () => {
    const dir = await colourModelDir();
    for (const [device, reason] of [['cuda', /CUDA/], ['dml', /DirectML is only available on Windows/], ['coreml', /CoreML is only available on macOS/]] as const) {
      const model = await loadModel(dir, { device });
      try {
        expect(model.info.device.provider).toBe('cpu');
        expect(model.info.device.requested).toBe(device);
        expect(model.info.device.fallbackReason).toMatch(reason);
        expect(model.info.device.fallbackReason).toMatch(/running on CPU instead/);
        expect(describeDevice(model.info.device)).toMatch(new RegExp(`^warning: --device ${device} unavailable`));
        const [e] = await model.encodeTexts(['azul']);
        expect(e).toHaveLength(512);
      } finally {
        await model.close();
      }
    }
  });

  it('auto tries the platform accelerator for real and reports the fallback', async () => {
    const file = path.join(await colourModelDir(), 'onnx/text_model.onnx');
    // Pretend to be Windows: DirectML is looked up in this real onnxruntime-node build, which lacks it.
    const win = await openSession(file, 'auto', { platform: 'win32', arch: 'x64' });
    expect(win.report.provider).toBe('cpu');
    expect(win.report.fallbackReason).toMatch(/^DirectML is not included in this onnxruntime-node build; running on CPU instead$/);
    await win.session.release();
    const here = await openSession(file, 'auto');
    expect(here.report.provider).toBe('cpu');
    if (process.platform === 'linux' && process.arch === 'x64') expect(here.report.fallbackReason).toMatch(/CUDA could not be initialised/);
    expect(describeDevice(here.report)).toMatch(/^execution provider: CPU \(/);
    await here.session.release();
    const cpu = await openSession(file, 'cpu');
    expect(cpu.report).toEqual({ requested: 'cpu', provider: 'cpu' });
    await cpu.session.release();
  });
});

describe('validateModelFolder', () => {
  function copyModel(name: string, src: string): string {
    const dst = path.join(tmp, name);
    fs.cpSync(src, dst, { recursive: true });
    return dst;
  }

  it('accepts the colour model and lists the files it needs', async () => {
    const summary = await validateModelFolder(await colourModelDir());
    expect(summary).toMatchObject({ layout: 'xenova', family: 'clip', dim: 512, imageSize: 224, contextLength: 77 });
    expect(summary.precisions.sort()).toEqual(['fp32', 'quantized']);
    expect(summary.files).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json', 'onnx/vision_model.onnx', 'onnx/text_model_quantized.onnx']));
  });

  it('names the truncated graph, the missing tokenizer and the broken config', async () => {
    const src = await colourModelDir();
    const truncated = copyModel('truncated', src);
    const g = path.join(truncated, 'onnx/vision_model.onnx');
    fs.truncateSync(g, Math.floor(fs.statSync(g).size / 2));
    await expect(validateModelFolder(truncated)).rejects.toThrow(/vision_model\.onnx: cannot load ONNX graph/);

    const noTok = copyModel('no-tokenizer', src);
    fs.rmSync(path.join(noTok, 'tokenizer.json'));
    await expect(validateModelFolder(noTok)).rejects.toThrow(/tokenizer\.json: required file is missing/);

    const badJson = copyModel('bad-json', src);
    fs.writeFileSync(path.join(badJson, 'preprocessor_config.json'), '{"size": ');
    await expect(validateModelFolder(badJson)).rejects.toThrow(/preprocessor_config\.json: invalid JSON/);

    const swapped = copyModel('swapped', src);
    fs.copyFileSync(path.join(src, 'onnx/text_model.onnx'), path.join(swapped, 'onnx/vision_model.onnx'));
    await expect(validateModelFolder(swapped)).rejects.toThrow(/vision_model\.onnx: vision graph has inputs \[input_ids\]/);

    await expect(validateModelFolder(tmp)).rejects.toThrow(/not a model folder/);
  });
});
