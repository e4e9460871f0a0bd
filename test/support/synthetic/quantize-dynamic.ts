// Dynamic int8 quantization of an fp32 ONNX graph, in the shape onnxruntime's `quantize_dynamic`
// (QuantizationMode.IntegerOps, MatMulConstBOnly) gives it — which is how transformers.js's
// scripts/convert.py made the `onnx/*_quantized.onnx` files on the Hub (per_channel and
// reduce_range on; uint8 weights when the graph has a Conv, int8 otherwise). Per node:
//
//   MatMul(x, W const)  →  DynamicQuantizeLinear(x) → x_q, x_scale, x_zp      (once per x)
//                          MatMulInteger(x_q, W_q, x_zp, W_zp) → Cast(float)
//                          Mul(x_scale, W_scale) ; Mul(cast, that) → y      (a bias Add stays after)
//   Conv(x, W const[, b]) →  same with ConvInteger (weights per tensor), then Reshape(b) + Add
//   Gather(E const, ids)  →  Gather(E_q, ids) → DequantizeLinear → y
//
// MatMuls whose B is not a constant (attention scores, context) stay float, as do Gemm and every
// other op: Gemm is not in onnxruntime's IntegerOps registry either. Keeping this exact pattern
// matters beyond the operator census: onnxruntime's graph optimizer fuses it into
// DynamicQuantizeMatMul / MatMulIntegerToFloat only when it sees this shape, so the stand-in runs the
// same kernels the real files do.

import { GraphBuilder, attr, elemTypeCode, writeModelFile, type ModelOptions } from './onnx.js';
import { quantizeWeightPerLastAxis, quantizeWeightPerTensor, type QuantizedTensor, type WeightType } from './quant-params.js';
import { readModelFile, type ReadModel, type ReadNode, type ReadTensor } from './onnx-read.js';

export interface DynamicQuantizeOptions {
  /** Weight type; default: transformers.js's rule (uint8 if the graph has a Conv, else int8). */
  weightType?: WeightType;
  /** Per output channel scales for MatMul weights (transformers.js 2023 default: true). */
  perChannel?: boolean;
  /** 7-bit weights (transformers.js 2023 default: true). */
  reduceRange?: boolean;
}

export interface DynamicQuantizeReport {
  weightType: WeightType;
  perChannel: boolean;
  reduceRange: boolean;
  /** Distinct op types of the fp32 graph, as transformers.js records them in quantize_config.json. */
  sourceOpTypes: string[];
  matMulInteger: number;
  convInteger: number;
  gather: number;
  dynamicQuantizeLinear: number;
  floatMatMul: number;
}

/** transformers.js convert.py: "signed weights are faster on most CPUs, unless the model has a Conv". */
export function transformersJsWeightType(model: ReadModel): WeightType {
  return model.nodes.some((n) => n.opType === 'Conv') ? 'uint8' : 'int8';
}

const FLOAT = elemTypeCode('float32');

function isFloatConst(model: ReadModel, name: string | undefined): ReadTensor | undefined {
  const t = name ? model.initializers.get(name) : undefined;
  return t && t.elemType === 'float32' ? t : undefined;
}

type Plan = 'matmul' | 'conv' | 'gather' | null;

function planNode(model: ReadModel, n: ReadNode): Plan {
  const activation = (i: number) => n.inputs[i] !== undefined && n.inputs[i] !== '' && !model.initializers.has(n.inputs[i]);
  if (n.opType === 'MatMul') {
    const w = isFloatConst(model, n.inputs[1]);
    return w && w.dims.length === 2 && activation(0) ? 'matmul' : null;
  }
  if (n.opType === 'Conv') {
    const bias = n.inputs[2];
    const biasOk = bias === undefined || bias === '' || isFloatConst(model, bias) !== undefined;
    return isFloatConst(model, n.inputs[1]) && activation(0) && biasOk ? 'conv' : null;
  }
  if (n.opType === 'Gather') return isFloatConst(model, n.inputs[0]) ? 'gather' : null;
  return null;
}

/** Builds the quantized graph; weights are quantized here, while the builder is filled. */
export function quantizeDynamic(model: ReadModel, options: DynamicQuantizeOptions = {}): { graph: GraphBuilder; report: DynamicQuantizeReport } {
  if (model.opset < 11) throw new Error(`DynamicQuantizeLinear needs opset 11 or later; the model has opset ${model.opset}`);
  const weightType = options.weightType ?? transformersJsWeightType(model);
  const perChannel = options.perChannel ?? true;
  const reduceRange = options.reduceRange ?? true;
  const plans = model.nodes.map((n) => planNode(model, n));

  // A float weight stays in the file only if something left in float still reads it.
  const floatReaders = new Map<string, number>();
  model.nodes.forEach((n, i) => {
    n.inputs.forEach((input, k) => {
      const quantizedSlot = (plans[i] === 'matmul' && k === 1) || (plans[i] === 'conv' && k === 1) || (plans[i] === 'gather' && k === 0);
      if (!quantizedSlot) floatReaders.set(input, (floatReaders.get(input) ?? 0) + 1);
    });
  });
  for (const out of model.outputs) floatReaders.set(out.name, (floatReaders.get(out.name) ?? 0) + 1);

  const b = new GraphBuilder(model.graphName);
  for (const v of model.inputs) b.input(v.name, v.elemType, v.dims);
  for (const t of model.initializers.values()) {
    if (floatReaders.has(t.name)) b.initializer(t.name, t.elemType, t.dims, () => t.data());
  }

  // Quantized weights: name → { q, scale, zp } tensor names (shared when two nodes use one weight).
  const quantizedWeights = new Map<string, { q: string; scale: string; zp: string }>();
  const quantizeWeight = (name: string, mode: 'per-channel' | 'per-tensor', reduce: boolean) => {
    const done = quantizedWeights.get(name);
    if (done) return done;
    const w = model.initializers.get(name)!;
    const data = w.data() as Float32Array;
    const o = { type: weightType, reduceRange: reduce };
    const qt: QuantizedTensor = mode === 'per-channel' ? quantizeWeightPerLastAxis(data, w.dims, o) : quantizeWeightPerTensor(data, o);
    const channelDims = mode === 'per-channel' ? [w.dims[w.dims.length - 1]] : [];
    const names = { q: `${name}_quantized`, scale: `${name}_scale`, zp: `${name}_zero_point` };
    b.initializer(names.q, weightType, w.dims, qt.values);
    b.initializer(names.scale, 'float32', channelDims, qt.scales);
    b.initializer(names.zp, weightType, channelDims, qt.zeroPoints);
    quantizedWeights.set(name, names);
    return names;
  };

  // Activations: one DynamicQuantizeLinear per distinct tensor, placed before its first integer reader.
  const quantizedActivations = new Map<string, { q: string; scale: string; zp: string }>();
  const quantizeActivation = (x: string) => {
    const done = quantizedActivations.get(x);
    if (done) return done;
    const names = { q: `${x}_quantized`, scale: `${x}_scale`, zp: `${x}_zero_point` };
    b.opMulti('DynamicQuantizeLinear', [x], [names.q, names.scale, names.zp]);
    quantizedActivations.set(x, names);
    return names;
  };

  /** Cast the int32 result to float and apply both scales, producing `output`. */
  const rescale = (integerOut: string, xScale: string, wScale: string, node: ReadNode, output: string) => {
    const cast = b.op('Cast', [integerOut], { to: attr.int(FLOAT) }, `${integerOut}_cast_output`);
    const scales = b.op('Mul', [xScale, wScale], {}, `${node.name || integerOut}_quant_scales_mul:0`);
    b.op('Mul', [cast, scales], {}, output);
  };

  const report: DynamicQuantizeReport = {
    weightType,
    perChannel,
    reduceRange,
    sourceOpTypes: [...new Set(model.nodes.map((n) => n.opType))].sort(),
    matMulInteger: 0,
    convInteger: 0,
    gather: 0,
    dynamicQuantizeLinear: 0,
    floatMatMul: 0,
  };

  model.nodes.forEach((n, i) => {
    const plan = plans[i];
    const y = n.outputs[0];
    if (plan === 'matmul') {
      const x = quantizeActivation(n.inputs[0]);
      // onnxruntime's MatMulInteger handler always asks for 7-bit weights (reduce_range=True in
      // matmul.py) and per-channel when the quantizer has per_channel on.
      const w = quantizeWeight(n.inputs[1], perChannel ? 'per-channel' : 'per-tensor', reduceRange);
      const integerOut = b.op('MatMulInteger', [x.q, w.q, x.zp, w.zp], {}, `${y}_output_quantized`);
      rescale(integerOut, x.scale, w.scale, n, y);
      report.matMulInteger++;
    } else if (plan === 'conv') {
      const x = quantizeActivation(n.inputs[0]);
      // ConvInteger weights are always per tensor in the dynamic quantizer.
      const w = quantizeWeight(n.inputs[1], 'per-tensor', reduceRange);
      const integerOut = b.op('ConvInteger', [x.q, w.q, x.zp, w.zp], n.attributes, `${y}_output_quantized`);
      const bias = n.inputs[2];
      if (bias) {
        const scaled = `${y}quant_scaled_output`;
        rescale(integerOut, x.scale, w.scale, n, scaled);
        const rank = model.initializers.get(n.inputs[1])!.dims.length;
        const shape = b.constant('int64', Array.from({ length: rank }, (_, k) => (k === 1 ? -1 : 1)));
        const reshaped = b.op('Reshape', [bias, shape], {}, `${y}_bias_reshape_output`);
        b.op('Add', [scaled, reshaped], {}, y);
      } else {
        rescale(integerOut, x.scale, w.scale, n, y);
      }
      report.convInteger++;
    } else if (plan === 'gather') {
      // Embedding tables: one scale for the table, full range (the Gather handler does not reduce it).
      const w = quantizeWeight(n.inputs[0], 'per-tensor', false);
      const gathered = b.op('Gather', [w.q, ...n.inputs.slice(1)], n.attributes, `${y}_quantized`);
      b.op('DequantizeLinear', [gathered, w.scale, w.zp], {}, y);
      report.gather++;
    } else {
      b.opMulti(n.opType, n.inputs, n.outputs, n.attributes);
      if (n.opType === 'MatMul') report.floatMatMul++;
    }
  });
  report.dynamicQuantizeLinear = quantizedActivations.size;
  for (const v of model.outputs) b.output(v.name, v.elemType, v.dims);
  return { graph: b, report };
}

/** Reads an fp32 model file, quantizes it and writes the result (same metadata and opset). */
export function quantizeModelFile(source: string, target: string, options: DynamicQuantizeOptions = {}): DynamicQuantizeReport {
  const model = readModelFile(source);
  const { graph, report } = quantizeDynamic(model, options);
  const writeOptions: ModelOptions = {
    opset: model.opset,
    irVersion: model.irVersion,
    producerName: 'onnx.quantize',
    docString: model.docString,
    metadata: model.metadata,
  };
  writeModelFile(target, graph, writeOptions);
  return report;
}
