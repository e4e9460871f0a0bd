// Reads an ONNX model back into the pieces GraphBuilder writes (nodes with attributes, initializers,
// graph inputs and outputs), so a generated model can be rewritten — e.g. quantized — and written
// again by onnx.ts. It understands the subset of the format onnx.ts produces: one graph in the
// default operator domain, tensors as raw_data or typed fields, no subgraphs or external data.
//
// Initializer bytes stay views into the file buffer until asked for, so reading a ~350 MB model
// costs the file itself plus one tensor at a time.

import { readFileSync } from 'node:fs';
import { attr, elemTypeFromCode, onnxMessageType, type AttributeValue, type Dim, type ElemType, type TensorData } from './onnx.js';

export interface ReadTensor {
  name: string;
  elemType: ElemType;
  dims: readonly number[];
  /** A fresh, aligned copy of the values (raw_data in a file is not aligned for typed arrays). */
  data(): TensorData;
}

export interface ReadNode {
  name: string;
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes: Readonly<Record<string, AttributeValue>>;
}

export interface ReadValue {
  name: string;
  elemType: ElemType;
  dims: readonly Dim[];
}

export interface ReadModel {
  irVersion: number;
  /** Version of the default ("ai.onnx") operator set. */
  opset: number;
  producerName: string;
  docString: string;
  metadata: Readonly<Record<string, string>>;
  graphName: string;
  nodes: readonly ReadNode[];
  /** In file order. */
  initializers: ReadonlyMap<string, ReadTensor>;
  inputs: readonly ReadValue[];
  outputs: readonly ReadValue[];
}

// Shapes of protobufjs's toObject() output for the fields read here (int64 as numbers).
interface RawTensor {
  name?: string;
  data_type?: number;
  dims?: number[];
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  data_location?: number;
}
interface RawAttribute {
  name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: RawTensor;
  floats?: number[];
  ints?: number[];
}
interface RawValueInfo {
  name?: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number; dim_param?: string }[] } } };
}
interface RawModel {
  ir_version?: number;
  producer_name?: string;
  doc_string?: string;
  opset_import?: { domain?: string; version?: number }[];
  metadata_props?: { key?: string; value?: string }[];
  graph?: {
    name?: string;
    node?: { name?: string; op_type?: string; domain?: string; input?: string[]; output?: string[]; attribute?: RawAttribute[] }[];
    initializer?: RawTensor[];
    input?: RawValueInfo[];
    output?: RawValueInfo[];
  };
}

const ModelProto = onnxMessageType('ModelProto');

function elemType(code: number | undefined, what: string): ElemType {
  const t = elemTypeFromCode(code ?? 0);
  if (!t) throw new Error(`${what}: ONNX data type ${code} is not supported`);
  return t;
}

/** Copies `count` little-endian elements out of an unaligned view. */
function fromRaw(type: ElemType, raw: Uint8Array, count: number, name: string): TensorData {
  // new Uint8Array(view) copies into a fresh, aligned ArrayBuffer (Buffer#slice would not copy).
  const bytes = new Uint8Array(raw).buffer;
  let out: TensorData;
  switch (type) {
    case 'float32':
      out = new Float32Array(bytes);
      break;
    case 'int32':
      out = new Int32Array(bytes);
      break;
    case 'int64':
      out = new BigInt64Array(bytes);
      break;
    case 'int8':
      out = new Int8Array(bytes);
      break;
    case 'uint8':
    case 'bool':
      out = new Uint8Array(bytes);
      break;
  }
  if (out.length !== count) throw new Error(`initializer ${name}: ${out.length} values for ${count} elements`);
  return out;
}

function fromTyped(type: ElemType, t: RawTensor, count: number, name: string): TensorData {
  let out: TensorData;
  if (type === 'float32') out = Float32Array.from(t.float_data ?? []);
  else if (type === 'int64') out = BigInt64Array.from(t.int64_data ?? [], (v) => BigInt(v));
  else if (type === 'int32') out = Int32Array.from(t.int32_data ?? []);
  // ONNX stores int8/uint8/bool in int32_data when not in raw_data.
  else if (type === 'int8') out = Int8Array.from(t.int32_data ?? []);
  else out = Uint8Array.from(t.int32_data ?? []);
  if (out.length !== count) throw new Error(`initializer ${name}: ${out.length} values for ${count} elements`);
  return out;
}

function readTensor(t: RawTensor): ReadTensor {
  const name = t.name ?? '';
  if (t.data_location === 1) throw new Error(`initializer ${name}: external data is not supported`);
  const type = elemType(t.data_type, `initializer ${name}`);
  const dims = (t.dims ?? []).map(Number);
  const count = dims.reduce((a, d) => a * d, 1);
  const raw = t.raw_data;
  return {
    name,
    elemType: type,
    dims,
    data: () => (raw && raw.length > 0 ? fromRaw(type, raw, count, name) : fromTyped(type, t, count, name)),
  };
}

function readAttribute(a: RawAttribute, where: string): AttributeValue {
  switch (a.type) {
    case 1:
      return attr.float(a.f ?? 0);
    case 2:
      return attr.int(a.i ?? 0);
    case 3:
      return attr.string(Buffer.from(a.s ?? new Uint8Array()).toString('utf8'));
    case 4: {
      if (!a.t) throw new Error(`${where}: tensor attribute without a tensor`);
      const t = readTensor(a.t);
      return attr.tensor(t.elemType, t.dims, t.data());
    }
    case 6:
      return attr.floats(a.floats ?? []);
    case 7:
      return attr.ints(a.ints ?? []);
    default:
      throw new Error(`${where}: attribute type ${a.type} is not supported`);
  }
}

function readValue(v: RawValueInfo): ReadValue {
  const name = v.name ?? '';
  const tensor = v.type?.tensor_type;
  if (!tensor) throw new Error(`graph value ${name} is not a tensor`);
  let unnamed = 0;
  const dims = (tensor.shape?.dim ?? []).map((d): Dim => {
    if (d.dim_param) return d.dim_param;
    if (d.dim_value !== undefined) return Number(d.dim_value);
    return `${name}_dim${unnamed++}`;
  });
  return { name, elemType: elemType(tensor.elem_type, `graph value ${name}`), dims };
}

/** Decodes a model held in memory (pass a Buffer: protobufjs then slices initializers without copying). */
export function readModel(bytes: Buffer): ReadModel {
  const raw = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as RawModel;
  const opsets = raw.opset_import ?? [];
  const foreign = opsets.filter((o) => (o.domain ?? '') !== '' && o.domain !== 'ai.onnx');
  if (foreign.length) throw new Error(`operator domains ${foreign.map((o) => o.domain).join(', ')} are not supported`);
  const opset = opsets.find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx')?.version ?? 0;
  const graph = raw.graph ?? {};
  const nodes = (graph.node ?? []).map((n, i): ReadNode => {
    const where = `node ${n.name ?? i} (${n.op_type})`;
    if (n.domain && n.domain !== 'ai.onnx') throw new Error(`${where}: domain ${n.domain} is not supported`);
    return {
      name: n.name ?? '',
      opType: n.op_type ?? '',
      inputs: n.input ?? [],
      outputs: n.output ?? [],
      attributes: Object.fromEntries((n.attribute ?? []).map((a) => [a.name ?? '', readAttribute(a, where)])),
    };
  });
  const initializers = new Map<string, ReadTensor>();
  for (const t of graph.initializer ?? []) {
    const tensor = readTensor(t);
    initializers.set(tensor.name, tensor);
  }
  return {
    irVersion: Number(raw.ir_version ?? 0),
    opset: Number(opset),
    producerName: raw.producer_name ?? '',
    docString: raw.doc_string ?? '',
    metadata: Object.fromEntries((raw.metadata_props ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
    graphName: graph.name ?? '',
    nodes,
    initializers,
    inputs: (graph.input ?? []).map(readValue).filter((v) => !initializers.has(v.name)),
    outputs: (graph.output ?? []).map(readValue),
  };
}

export function readModelFile(path: string): ReadModel {
  return readModel(readFileSync(path));
}
