// A random-weight stand-in for Xenova/clip-vit-base-patch32: the real ViT-B/32 architecture, sizes and
// I/O contract, so benchmarks measure realistic compute, memory and file sizes. Its outputs mean
// nothing; config.json says so. Weights are generated lazily per tensor while the file is streamed, so
// generating the ~350 MB vision file needs about one tensor's worth of memory.

import { join } from 'node:path';
import { statSync, writeFileSync, mkdirSync } from 'node:fs';
import { SYNTHETIC_MARKER_KEY, writeJson } from './model-files.js';
import { quantizeModelFile, type DynamicQuantizeOptions } from './quantize-dynamic.js';
import { writeXenovaClipFiles, XENOVA_CLIP_CONFIG_FILES } from './colour-model.js';
import { GraphBuilder, attr, writeModelFile } from './onnx.js';
import { Prng, deriveSeed } from './prng.js';
import { clipTokenizerDir } from './paths.js';
import type { GeneratedModel } from './colour-model.js';

// Bumped whenever the files change, so cached folders are regenerated. 3: positions gathered and EOS
// pooled by index (as in the HF export), *_quantized.onnx beside fp32 (2: tokenizer files derived from the committed vocabulary).
export const VITB32_VERSION = 3;
export const DEFAULT_VITB32_SEED = 32;

const INIT_STD = 0.02;
const LN_EPS = 1e-5;
const INT32 = 6;

interface Weights {
  b: GraphBuilder;
  seed: number;
}

function gaussian(w: Weights, name: string, dims: number[], std = INIT_STD): string {
  const count = dims.reduce((a, d) => a * d, 1);
  return w.b.float32(name, dims, () => new Prng(deriveSeed(w.seed, name)).normal(count, std));
}

function filled(w: Weights, name: string, dims: number[], value: number): string {
  const count = dims.reduce((a, d) => a * d, 1);
  return w.b.float32(name, dims, () => new Float32Array(count).fill(value));
}

function layerNorm(w: Weights, x: string, prefix: string, width: number): string {
  const scale = filled(w, `${prefix}.weight`, [width], 1);
  const bias = filled(w, `${prefix}.bias`, [width], 0);
  return w.b.op('LayerNormalization', [x, scale, bias], { axis: attr.int(-1), epsilon: attr.float(LN_EPS) });
}

/** x·W + b with W stored [in, out] as MatMul expects. */
function linear(w: Weights, x: string, prefix: string, inDim: number, outDim: number, bias = true): string {
  const y = w.b.op('MatMul', [x, gaussian(w, `${prefix}.weight`, [inDim, outDim])]);
  return bias ? w.b.op('Add', [y, filled(w, `${prefix}.bias`, [outDim], 0)]) : y;
}

/** Pre-LN transformer block with quick_gelu MLP, as in CLIP. `mask` is an additive [S,S] attention mask. */
function block(w: Weights, x: string, prefix: string, width: number, heads: number, mlp: number, mask: string | null): string {
  const b = w.b;
  const headDim = width / heads;
  const h = layerNorm(w, x, `${prefix}.layer_norm1`, width);
  const q = b.op('Mul', [linear(w, h, `${prefix}.attn.q_proj`, width, width), b.scalar('float32', 1 / Math.sqrt(headDim))]);
  const k = linear(w, h, `${prefix}.attn.k_proj`, width, width);
  const v = linear(w, h, `${prefix}.attn.v_proj`, width, width);
  const split = b.constant('int64', [0, 0, heads, headDim]);
  const qh = b.op('Transpose', [b.op('Reshape', [q, split])], { perm: attr.ints([0, 2, 1, 3]) });
  const kt = b.op('Transpose', [b.op('Reshape', [k, split])], { perm: attr.ints([0, 2, 3, 1]) });
  const vh = b.op('Transpose', [b.op('Reshape', [v, split])], { perm: attr.ints([0, 2, 1, 3]) });
  let scores = b.op('MatMul', [qh, kt]);
  if (mask) scores = b.op('Add', [scores, mask]);
  const probs = b.op('Softmax', [scores], { axis: attr.int(-1) });
  const context = b.op('Reshape', [
    b.op('Transpose', [b.op('MatMul', [probs, vh])], { perm: attr.ints([0, 2, 1, 3]) }),
    b.constant('int64', [0, 0, width]),
  ]);
  const x1 = b.op('Add', [x, linear(w, context, `${prefix}.attn.out_proj`, width, width)]);

  const h2 = layerNorm(w, x1, `${prefix}.layer_norm2`, width);
  const up = linear(w, h2, `${prefix}.mlp.fc1`, width, mlp);
  const act = b.op('Mul', [up, b.op('Sigmoid', [b.op('Mul', [up, b.scalar('float32', 1.702)])])]);
  return b.op('Add', [x1, linear(w, act, `${prefix}.mlp.fc2`, mlp, width)]);
}

const VISION = { width: 768, layers: 12, heads: 12, mlp: 3072, patch: 32, size: 224, projection: 512 };
const TEXT = { width: 512, layers: 12, heads: 8, mlp: 2048, vocab: 49408, context: 77, projection: 512 };

export function vitB32VisionGraph(seed: number): GraphBuilder {
  const b = new GraphBuilder('clip_vision_vitb32_standin');
  const w: Weights = { b, seed };
  const v = VISION;
  const grid = v.size / v.patch;
  const tokens = grid * grid + 1;

  const pixels = b.input('pixel_values', 'float32', ['batch_size', 3, v.size, v.size]);
  const conv = b.op('Conv', [pixels, gaussian(w, 'vision.embeddings.patch_embedding.weight', [v.width, 3, v.patch, v.patch])], {
    kernel_shape: attr.ints([v.patch, v.patch]),
    strides: attr.ints([v.patch, v.patch]),
  });
  const patches = b.op('Transpose', [b.op('Reshape', [conv, b.constant('int64', [0, v.width, grid * grid])])], { perm: attr.ints([0, 2, 1]) });
  const batch = b.op('Slice', [b.op('Shape', [pixels]), b.constant('int64', [0]), b.constant('int64', [1])]);
  const clsShape = b.op('Concat', [batch, b.constant('int64', [1, v.width])], { axis: attr.int(0) });
  const cls = b.op('Expand', [gaussian(w, 'vision.embeddings.class_embedding', [1, 1, v.width]), clsShape]);
  const embedded = b.op('Add', [
    b.op('Concat', [cls, patches], { axis: attr.int(1) }),
    gaussian(w, 'vision.embeddings.position_embedding.weight', [tokens, v.width]),
  ]);

  let x = layerNorm(w, embedded, 'vision.pre_layrnorm', v.width);
  for (let i = 0; i < v.layers; i++) x = block(w, x, `vision.encoder.layers.${i}`, v.width, v.heads, v.mlp, null);
  const pooled = layerNorm(w, b.op('Gather', [x, b.scalar('int64', 0)], { axis: attr.int(1) }), 'vision.post_layernorm', v.width);
  b.op('MatMul', [pooled, gaussian(w, 'visual_projection.weight', [v.width, v.projection])], {}, 'image_embeds');
  b.output('image_embeds', 'float32', ['batch_size', v.projection]);
  return b;
}

export function vitB32TextGraph(seed: number): GraphBuilder {
  const b = new GraphBuilder('clip_text_vitb32_standin');
  const w: Weights = { b, seed };
  const t = TEXT;

  const ids = b.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const length1d = b.op('Slice', [b.op('Shape', [ids]), b.constant('int64', [1]), b.constant('int64', [2])]);
  const length = b.op('Squeeze', [length1d, b.constant('int64', [0])]);
  const positions = b.op('Range', [b.scalar('int64', 0), length, b.scalar('int64', 1)]);

  const tokens = b.op('Gather', [gaussian(w, 'text.embeddings.token_embedding.weight', [t.vocab, t.width]), ids], { axis: attr.int(0) });
  // Positions are gathered, not sliced, as in the HF export (position_embedding(position_ids[:, :L])):
  // a quantizer then sees two embedding Gathers, like in the real text_model_quantized.onnx.
  const posTable = gaussian(w, 'text.embeddings.position_embedding.weight', [t.context, t.width], 0.01);
  const pos = b.op('Gather', [posTable, positions], { axis: attr.int(0) });
  let x = b.op('Add', [tokens, pos]);

  // Causal mask [L, L]: −1e9 where the key position is after the query position.
  const future = b.op('Greater', [
    b.op('Unsqueeze', [positions, b.constant('int64', [0])]),
    b.op('Unsqueeze', [positions, b.constant('int64', [1])]),
  ]);
  const mask = b.op('Where', [future, b.scalar('float32', -1e9), b.scalar('float32', 0)]);

  for (let i = 0; i < t.layers; i++) x = block(w, x, `text.encoder.layers.${i}`, t.width, t.heads, t.mlp, mask);
  x = layerNorm(w, x, 'text.final_layer_norm', t.width);

  // Pool at argmax(input_ids): the first <|endoftext|> (HF CLIP with the legacy eos_token_id 2). An
  // index, not a one-hot MatMul, so the only float MatMuls left are attention's, as in the HF export.
  const eos = b.op('ArgMax', [b.op('Cast', [ids], { to: attr.int(INT32) })], { axis: attr.int(1), keepdims: attr.int(1) });
  const pooled = b.op('GatherND', [x, eos], { batch_dims: attr.int(1) });
  b.op('MatMul', [pooled, gaussian(w, 'text_projection.weight', [t.width, t.projection])], {}, 'text_embeds');
  b.output('text_embeds', 'float32', ['batch_size', t.projection]);
  return b;
}

export interface VitB32Options {
  seed?: number;
  tokenizerDir?: string;
}

const MARKER = 'random-weight ViT-B/32 stand-in with the real architecture and sizes, not real CLIP weights: outputs are meaningless';

/** The q8 files transformers.js publishes, made from the fp32 graphs as its convert.py made them. */
export const VITB32_QUANTIZED_FILES = ['onnx/vision_model_quantized.onnx', 'onnx/text_model_quantized.onnx'] as const;

/**
 * Writes the Xenova CLIP layout: fp32 `onnx/vision_model.onnx` and `onnx/text_model.onnx`, their
 * dynamically quantized `_quantized` twins (so `--precision auto` picks them, as it picks the real
 * files), and the `quantize_config.json` transformers.js's converter writes beside them.
 */
export function writeVitB32StandIn(dir: string, options: VitB32Options = {}): GeneratedModel {
  const seed = options.seed ?? DEFAULT_VITB32_SEED;
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const metadata = { triagem_synthetic: MARKER };
  writeModelFile(join(dir, 'onnx/vision_model.onnx'), vitB32VisionGraph(seed), { metadata });
  writeModelFile(join(dir, 'onnx/text_model.onnx'), vitB32TextGraph(seed), { metadata });
  const perModel: Record<string, { op_types: string[]; weight_type: string }> = {};
  for (const tower of ['vision_model', 'text_model']) {
    const report = quantizeModelFile(join(dir, `onnx/${tower}.onnx`), join(dir, `onnx/${tower}_quantized.onnx`), TRANSFORMERS_JS_Q8);
    perModel[tower] = { op_types: report.sourceOpTypes, weight_type: report.weightType === 'uint8' ? 'QuantType.QUInt8' : 'QuantType.QInt8' };
  }
  writeJson(join(dir, 'quantize_config.json'), {
    per_channel: TRANSFORMERS_JS_Q8.perChannel,
    reduce_range: TRANSFORMERS_JS_Q8.reduceRange,
    per_model_config: perModel,
  });
  writeXenovaClipFiles(dir, options.tokenizerDir ?? clipTokenizerDir(), MARKER);
  writeFileSync(join(dir, 'README.md'), `# Synthetic benchmark model — NOT real weights\n\nSee config.json \`${SYNTHETIC_MARKER_KEY}\`.\n`);
  const rels = ['onnx/vision_model.onnx', 'onnx/text_model.onnx', ...VITB32_QUANTIZED_FILES, 'quantize_config.json', ...XENOVA_CLIP_CONFIG_FILES, 'README.md'];
  return { dir, files: Object.fromEntries(rels.map((rel) => [rel, statSync(join(dir, rel)).size])) };
}

// transformers.js scripts/convert.py DEFAULT_QUANTIZE_PARAMS when the CLIP files were converted (2023).
const TRANSFORMERS_JS_Q8: Required<Pick<DynamicQuantizeOptions, 'perChannel' | 'reduceRange'>> = { perChannel: true, reduceRange: true };
