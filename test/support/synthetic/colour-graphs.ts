// ONNX graphs of the synthetic colour model, one builder per real tower contract (Xenova CLIP, Xenova
// SigLIP, Immich). Each honours the real file's input/output names, dtypes, ranks and normalization.

import { FEATURES, SIGMA2, VOCAB_SIZE, type ColourSpace } from './colour-space.js';
import { quantizePerRow, quantizePerTensor } from './linalg.js';
import { GraphBuilder, attr, type Dim } from './onnx.js';

const FLOAT = 1;
const INT32 = 6;

export type Precision = 'fp32' | 'quantized';

/** A float [rows, cols] weight; quantized builds store it as int8 + scale behind DequantizeLinear. */
function matrix(b: GraphBuilder, name: string, data: Float32Array, rows: number, cols: number, precision: Precision): string {
  if (precision === 'fp32') return b.float32(name, [rows, cols], data);
  const q = quantizePerTensor(data);
  const values = b.int8(`${name}_quantized`, [rows, cols], q.values);
  return b.op('DequantizeLinear', [values, b.scalar('float32', q.scale), b.constant('int8', [0], [])], {}, name);
}

/** The token table; quantized builds use one scale per token row (axis 0). */
function tokenTable(b: GraphBuilder, space: ColourSpace, precision: Precision): string {
  const dims = [VOCAB_SIZE, space.latent];
  if (precision === 'fp32') return b.float32('token_table', dims, space.tokenTable);
  const q = quantizePerRow(space.tokenTable, VOCAB_SIZE, space.latent);
  const values = b.int8('token_table_quantized', dims, q.values);
  const scales = b.float32('token_table_scale', [VOCAB_SIZE], q.scales);
  const zeros = b.initializer('token_table_zero_point', 'int8', [VOCAB_SIZE], new Int8Array(VOCAB_SIZE));
  return b.op('DequantizeLinear', [values, scales, zeros], { axis: attr.int(0) }, 'token_table');
}

/** rgb [..., 3] in [0,1] → normalized RBF weight of every palette prototype [..., K]. */
function prototypeSimilarity(b: GraphBuilder, space: ColourSpace, rgb: string): string {
  const features = b.op('MatMul', [rgb, b.constant('float32', FEATURES, [3, 3])]);
  const protos = b.constant('float32', Array.from(space.prototypes), [space.colours, 3]);
  const diff = b.op('Sub', [b.op('Unsqueeze', [features, b.constant('int64', [-2])]), protos]);
  const dist2 = b.op('ReduceSum', [b.op('Mul', [diff, diff]), b.constant('int64', [-1])], { keepdims: attr.int(0) });
  return b.op('Softmax', [b.op('Mul', [dist2, b.scalar('float32', -1 / SIGMA2)])], { axis: attr.int(-1) });
}

/** Undoes the preprocessor's (x − mean)/std on a [..., 3] tensor of channel means. */
function denormalize(b: GraphBuilder, channelMeans: string, mean: readonly number[], std: readonly number[]): string {
  return b.op('Add', [b.op('Mul', [channelMeans, b.constant('float32', std)]), b.constant('float32', mean)]);
}

interface ImageWeights {
  directions: string;
  offset: string;
}

function imageWeights(b: GraphBuilder, space: ColourSpace, precision: Precision): ImageWeights {
  return {
    directions: matrix(b, 'colour_directions', space.colourDirections, space.colours, space.dim, precision),
    offset: b.float32('image_offset', [space.dim], space.imageOffset),
  };
}

/** Similarities [..., K] → embedding [..., dim] (colour directions plus the constant image offset). */
function imageEmbedding(b: GraphBuilder, w: ImageWeights, similarity: string, output?: string): string {
  return b.op('Add', [b.op('MatMul', [similarity, w.directions]), w.offset], {}, output);
}

export interface ClipVisionOptions {
  inputName: string;
  outputName: string;
  batch: Dim;
  size: number;
  mean: readonly number[];
  std: readonly number[];
  /** Immich towers L2-normalize inside the graph; Xenova towers return raw projections. */
  normalize: boolean;
  precision: Precision;
}

/** Mean colour of the whole image → [N, dim]. */
export function clipVisionGraph(space: ColourSpace, o: ClipVisionOptions): GraphBuilder {
  const b = new GraphBuilder('colour_vision');
  const pixels = b.input(o.inputName, 'float32', [o.batch, 3, o.size, o.size]);
  const means = b.op('ReduceMean', [pixels], { axes: attr.ints([2, 3]), keepdims: attr.int(0) });
  const similarity = prototypeSimilarity(b, space, denormalize(b, means, o.mean, o.std));
  const weights = imageWeights(b, space, o.precision);
  if (o.normalize) {
    const raw = imageEmbedding(b, weights, similarity);
    b.op('LpNormalization', [raw], { axis: attr.int(-1), p: attr.int(2) }, o.outputName);
  } else {
    imageEmbedding(b, weights, similarity, o.outputName);
  }
  b.output(o.outputName, 'float32', [o.batch, space.dim]);
  return b;
}

export interface ClipTextOptions {
  inputName: string;
  inputType: 'int64' | 'int32';
  /** Also declare (and honour) an `attention_mask` input of the same shape and dtype. */
  attentionMask: boolean;
  outputName: string;
  batch: Dim;
  sequence: Dim;
  normalize: boolean;
  precision: Precision;
}

/**
 * Bag of token vectors over positions 0..first <|endoftext|>, like CLIP's causal encoder pooled at
 * argmax(input_ids): anything after the first 49407 (padding with 0 or with 49407) cannot change the result.
 */
export function clipTextGraph(space: ColourSpace, o: ClipTextOptions): GraphBuilder {
  const b = new GraphBuilder('colour_text');
  const ids = b.input(o.inputName, o.inputType, [o.batch, o.sequence]);
  const mask = o.attentionMask ? b.input('attention_mask', o.inputType, [o.batch, o.sequence]) : null;

  // ArgMax returns the first maximum; int32 input as in the exported HF graphs.
  const ids32 = o.inputType === 'int32' ? ids : b.op('Cast', [ids], { to: attr.int(INT32) });
  const eos = b.op('ArgMax', [ids32], { axis: attr.int(1), keepdims: attr.int(1) });
  const length = b.op('Gather', [b.op('Shape', [ids]), b.scalar('int64', 1)], { axis: attr.int(0) });
  const positions = b.op('Range', [b.scalar('int64', 0), length, b.scalar('int64', 1)]);
  let keep = b.op('Cast', [b.op('LessOrEqual', [positions, eos])], { to: attr.int(FLOAT) });
  if (mask) keep = b.op('Mul', [keep, b.op('Cast', [mask], { to: attr.int(FLOAT) })]);

  const tokens = b.op('Gather', [tokenTable(b, space, o.precision), ids], { axis: attr.int(0) });
  const pooled = b.op('Squeeze', [b.op('MatMul', [b.op('Unsqueeze', [keep, b.constant('int64', [1])]), tokens]), b.constant('int64', [1])]);
  const projection = matrix(b, 'text_projection', space.textProjection, space.latent, space.dim, o.precision);
  if (o.normalize) {
    b.op('LpNormalization', [b.op('MatMul', [pooled, projection])], { axis: attr.int(-1), p: attr.int(2) }, o.outputName);
  } else {
    b.op('MatMul', [pooled, projection], {}, o.outputName);
  }
  b.output(o.outputName, 'float32', [o.batch, space.dim]);
  return b;
}

export interface SiglipVisionOptions {
  size: number;
  patch: number;
  mean: readonly number[];
  std: readonly number[];
  precision: Precision;
}

/** `last_hidden_state` [N, patches, dim] from per-patch mean colours; `pooler_output` [N, dim] from the whole image. */
export function siglipVisionGraph(space: ColourSpace, o: SiglipVisionOptions): GraphBuilder {
  const b = new GraphBuilder('colour_siglip_vision');
  const grid = o.size / o.patch;
  if (!Number.isInteger(grid)) throw new Error(`image size ${o.size} is not a multiple of patch ${o.patch}`);
  const pixels = b.input('pixel_values', 'float32', ['batch_size', 3, o.size, o.size]);

  const pooled = b.op('AveragePool', [pixels], { kernel_shape: attr.ints([o.patch, o.patch]), strides: attr.ints([o.patch, o.patch]) });
  const perPatch = b.op('Transpose', [b.op('Reshape', [pooled, b.constant('int64', [0, 3, -1])])], { perm: attr.ints([0, 2, 1]) });
  const weights = imageWeights(b, space, o.precision);
  const patchSimilarity = prototypeSimilarity(b, space, denormalize(b, perPatch, o.mean, o.std));
  imageEmbedding(b, weights, patchSimilarity, 'last_hidden_state');

  const means = b.op('ReduceMean', [pixels], { axes: attr.ints([2, 3]), keepdims: attr.int(0) });
  const similarity = prototypeSimilarity(b, space, denormalize(b, means, o.mean, o.std));
  imageEmbedding(b, weights, similarity, 'pooler_output');

  b.output('last_hidden_state', 'float32', ['batch_size', grid * grid, space.dim]);
  b.output('pooler_output', 'float32', ['batch_size', space.dim]);
  return b;
}

export interface SiglipTextOptions {
  sequence: number;
  precision: Precision;
}

/**
 * Running sum of token vectors along the sequence (`last_hidden_state`), pooled at the LAST position like
 * SigLIP: every position counts, so the pad id matters.
 */
export function siglipTextGraph(space: ColourSpace, o: SiglipTextOptions): GraphBuilder {
  const b = new GraphBuilder('colour_siglip_text');
  const ids = b.input('input_ids', 'int64', ['batch_size', o.sequence]);
  const tokens = b.op('Gather', [tokenTable(b, space, o.precision), ids], { axis: attr.int(0) });
  const running = b.op('CumSum', [tokens, b.scalar('int64', 1)]);
  const projection = matrix(b, 'text_projection', space.textProjection, space.latent, space.dim, o.precision);
  b.op('MatMul', [running, projection], {}, 'last_hidden_state');
  b.op('Gather', ['last_hidden_state', b.scalar('int64', -1)], { axis: attr.int(1) }, 'pooler_output');
  b.output('last_hidden_state', 'float32', ['batch_size', o.sequence, space.dim]);
  b.output('pooler_output', 'float32', ['batch_size', space.dim]);
  return b;
}
