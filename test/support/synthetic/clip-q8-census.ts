// What Xenova/clip-vit-base-patch32's q8 graphs (onnx/vision_model_quantized.onnx,
// onnx/text_model_quantized.onnx) contain where quantization decides it, for checking a stand-in.
//
// shared/docs/model-formats.md pins the files' sizes and says "q8 = dynamic quantization, int8
// weights (uint8 if the graph has Conv)", but lists no operator counts, and no real weights are
// reachable here. The counts below are derived from the two things that fix them:
//
//  - the HF CLIP towers as exported by optimum (ViT-B/32 vision: a bias-free patch Conv, 12 pre-LN
//    blocks of q/k/v/out projections plus a two-layer MLP, a bias-free projection; text: token and
//    position embedding Gathers — position_ids are sliced at run time, so that Gather is not
//    constant-folded as the vision tower's is — the same 12 blocks, a bias-free projection);
//  - onnxruntime's quantize_dynamic as transformers.js's convert.py called it in 2023 (IntegerOps,
//    MatMulConstBOnly, per_channel and reduce_range on): one MatMulInteger per constant-weight
//    MatMul, ConvInteger per Conv, a quantized Gather + DequantizeLinear per embedding table, one
//    DynamicQuantizeLinear per distinct activation feeding them, and the two attention MatMuls per
//    block (activation × activation) left in float.
//
// Vision: 12 × 6 + 1 = 73 MatMulInteger; DynamicQuantizeLinear on pixel_values, and per block on
// LN1's output (shared by q, k, v), the attention context, LN2's output and the MLP activation, and on
// the pooled vector: 1 + 12 × 4 + 1 = 50. Text: 73 MatMulInteger, 12 × 4 + 1 = 49 DynamicQuantizeLinear,
// 2 DequantizeLinear. Both: 12 × 2 = 24 float MatMul.
//
// Ops the fp32 export itself chooses (opset-14 LayerNorm decomposed into ReduceMean/Sub/Pow/…, how
// the EOS row is indexed) are not quantization's doing and are not compared.

export type Tower = 'vision' | 'text';

/** Node counts, by op type, that dynamic quantization determines. */
export const CLIP_B32_Q8_CENSUS: Record<Tower, Readonly<Record<string, number>>> = {
  vision: { DynamicQuantizeLinear: 50, MatMulInteger: 73, ConvInteger: 1, DequantizeLinear: 0, MatMul: 24, Conv: 0 },
  text: { DynamicQuantizeLinear: 49, MatMulInteger: 73, ConvInteger: 0, DequantizeLinear: 2, MatMul: 24, Conv: 0 },
};

/** Weight element type of each tower (transformers.js: uint8 when the graph has a Conv). */
export const CLIP_B32_Q8_WEIGHT_TYPE: Record<Tower, 'uint8' | 'int8'> = { vision: 'uint8', text: 'int8' };

/**
 * Quantized weight tensors per tower: the integer-op weights plus the embedding tables
 * (vision 73 + 1, text 73 + 2), each with a zero-point tensor of the same type.
 */
export const CLIP_B32_Q8_QUANTIZED_WEIGHTS: Record<Tower, number> = { vision: 74, text: 75 };

/** Byte sizes pinned in shared/docs/model-formats.md (Xenova/clip-vit-base-patch32 @ d15189d7). */
export const CLIP_B32_Q8_BYTES: Record<Tower, number> = { vision: 89_117_001, text: 64_504_507 };

/** Node count by op type. */
export function operatorCensus(nodes: readonly { opType: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of nodes) out[n.opType] = (out[n.opType] ?? 0) + 1;
  return out;
}
