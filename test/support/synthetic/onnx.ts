// A minimal ONNX model writer for synthetic test models.
//
// The ONNX protobuf subset is declared through protobufjs's reflection API (field numbers from the
// public ONNX IR spec). Small messages (nodes, value infos, tensor headers) are encoded with protobufjs;
// the model is then streamed to disk as a sequence of chunks, because a protobuf message is just the
// concatenation of its fields: each initializer is written as "field 5 header + TensorProto header +
// raw_data header + bytes", with its bytes produced on demand and dropped right after. That keeps peak
// memory at about one tensor, even for ~350 MB ViT-B/32-sized models.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import protobuf from 'protobufjs';

// ---------------------------------------------------------------------------------------------------
// Schema

function declare(name: string, fields: ReadonlyArray<[string, number, string, 'repeated'?, boolean?]>): protobuf.Type {
  const type = new protobuf.Type(name);
  for (const [fieldName, id, fieldType, rule, packed] of fields) {
    const options = packed === undefined ? undefined : { packed };
    type.add(new protobuf.Field(fieldName, id, fieldType, rule, undefined, options));
  }
  return type;
}

function buildSchema(): protobuf.Root {
  const root = new protobuf.Root();
  root.add(declare('StringStringEntryProto', [['key', 1, 'string'], ['value', 2, 'string']]));
  root.add(declare('OperatorSetIdProto', [['domain', 1, 'string'], ['version', 2, 'int64']]));
  root.add(
    declare('TensorProto', [
      ['dims', 1, 'int64', 'repeated'],
      ['data_type', 2, 'int32'],
      ['float_data', 4, 'float', 'repeated', true],
      ['int32_data', 5, 'int32', 'repeated', true],
      ['string_data', 6, 'bytes', 'repeated'],
      ['int64_data', 7, 'int64', 'repeated', true],
      ['name', 8, 'string'],
      ['raw_data', 9, 'bytes'],
      ['double_data', 10, 'double', 'repeated', true],
      ['uint64_data', 11, 'uint64', 'repeated', true],
      ['doc_string', 12, 'string'],
      ['external_data', 13, 'StringStringEntryProto', 'repeated'],
      ['data_location', 14, 'int32'],
    ]),
  );
  // Nested ONNX messages (TensorShapeProto.Dimension, TypeProto.Tensor) are declared flat: names are not
  // part of the wire format.
  root.add(declare('TensorShapeDimension', [['dim_value', 1, 'int64'], ['dim_param', 2, 'string'], ['denotation', 3, 'string']]));
  root.add(declare('TensorShapeProto', [['dim', 1, 'TensorShapeDimension', 'repeated']]));
  root.add(declare('TypeProtoTensor', [['elem_type', 1, 'int32'], ['shape', 2, 'TensorShapeProto']]));
  root.add(declare('TypeProto', [['tensor_type', 1, 'TypeProtoTensor'], ['denotation', 6, 'string']]));
  root.add(declare('ValueInfoProto', [['name', 1, 'string'], ['type', 2, 'TypeProto'], ['doc_string', 3, 'string']]));
  root.add(
    declare('AttributeProto', [
      ['name', 1, 'string'],
      ['f', 2, 'float'],
      ['i', 3, 'int64'],
      ['s', 4, 'bytes'],
      ['t', 5, 'TensorProto'],
      ['g', 6, 'GraphProto'],
      ['floats', 7, 'float', 'repeated'],
      ['ints', 8, 'int64', 'repeated'],
      ['strings', 9, 'bytes', 'repeated'],
      ['tensors', 10, 'TensorProto', 'repeated'],
      ['graphs', 11, 'GraphProto', 'repeated'],
      ['doc_string', 13, 'string'],
      ['type', 20, 'int32'],
      ['ref_attr_name', 21, 'string'],
    ]),
  );
  root.add(
    declare('NodeProto', [
      ['input', 1, 'string', 'repeated'],
      ['output', 2, 'string', 'repeated'],
      ['name', 3, 'string'],
      ['op_type', 4, 'string'],
      ['attribute', 5, 'AttributeProto', 'repeated'],
      ['doc_string', 6, 'string'],
      ['domain', 7, 'string'],
    ]),
  );
  root.add(
    declare('GraphProto', [
      ['node', 1, 'NodeProto', 'repeated'],
      ['name', 2, 'string'],
      ['initializer', 5, 'TensorProto', 'repeated'],
      ['doc_string', 10, 'string'],
      ['input', 11, 'ValueInfoProto', 'repeated'],
      ['output', 12, 'ValueInfoProto', 'repeated'],
      ['value_info', 13, 'ValueInfoProto', 'repeated'],
    ]),
  );
  root.add(
    declare('ModelProto', [
      ['ir_version', 1, 'int64'],
      ['producer_name', 2, 'string'],
      ['producer_version', 3, 'string'],
      ['domain', 4, 'string'],
      ['model_version', 5, 'int64'],
      ['doc_string', 6, 'string'],
      ['graph', 7, 'GraphProto'],
      ['opset_import', 8, 'OperatorSetIdProto', 'repeated'],
      ['metadata_props', 14, 'StringStringEntryProto', 'repeated'],
    ]),
  );
  root.resolveAll();
  return root;
}

const schema = buildSchema();
/** The ONNX message types declared above, for readers elsewhere in test support (onnx-read.ts). */
export function onnxMessageType(name: 'ModelProto' | 'GraphProto' | 'TensorProto'): protobuf.Type {
  return schema.lookupType(name);
}
const ModelProto = schema.lookupType('ModelProto');
const GraphProto = schema.lookupType('GraphProto');
const TensorProto = schema.lookupType('TensorProto');

// Field numbers used when writing length-delimited fields by hand.
const MODEL_GRAPH_FIELD = 7;
const GRAPH_INITIALIZER_FIELD = 5;
const TENSOR_RAW_DATA_FIELD = 9;

// ---------------------------------------------------------------------------------------------------
// Types

export type ElemType = 'float32' | 'uint8' | 'int8' | 'int32' | 'int64' | 'bool';

const ELEM_CODE: Record<ElemType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9 };
const ELEM_BYTES: Record<ElemType, number> = { float32: 4, uint8: 1, int8: 1, int32: 4, int64: 8, bool: 1 };
const ELEM_BY_CODE = new Map<number, ElemType>(Object.entries(ELEM_CODE).map(([k, v]) => [v, k as ElemType]));

/** The writer's element type for an ONNX TensorProto.DataType code, or undefined for types it cannot write. */
export function elemTypeFromCode(code: number): ElemType | undefined {
  return ELEM_BY_CODE.get(code);
}

/** The ONNX TensorProto.DataType code of an element type (e.g. for Cast's `to`). */
export function elemTypeCode(elemType: ElemType): number {
  return ELEM_CODE[elemType];
}

/** A fixed size or a symbolic dimension name such as "batch_size". */
export type Dim = number | string;

export type TensorData = Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;
/** Eager data, or a function called once while the file is written (so big weights never coexist). */
export type TensorSource = TensorData | (() => TensorData);

export type AttributeValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'tensor'; value: { elemType: ElemType; dims: readonly number[]; data: TensorData } };

/** Attribute constructors: ONNX attributes are typed, and 1 (INT) is not 1.0 (FLOAT). */
export const attr = {
  int: (value: number): AttributeValue => ({ kind: 'int', value }),
  float: (value: number): AttributeValue => ({ kind: 'float', value }),
  string: (value: string): AttributeValue => ({ kind: 'string', value }),
  ints: (value: readonly number[]): AttributeValue => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): AttributeValue => ({ kind: 'floats', value }),
  tensor: (elemType: ElemType, dims: readonly number[], data: TensorData): AttributeValue => ({
    kind: 'tensor',
    value: { elemType, dims, data },
  }),
};

export type Attributes = Readonly<Record<string, AttributeValue>>;

interface ValueSpec {
  name: string;
  elemType: ElemType;
  dims: readonly Dim[];
}

interface InitializerSpec {
  name: string;
  elemType: ElemType;
  dims: readonly number[];
  byteLength: number;
  source: TensorSource;
}

interface NodeSpec {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes: Attributes;
  name: string;
}

const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid initializer dimension ${d}`);
    n *= d;
  }
  return n;
}

function matchesElemType(data: TensorData, elemType: ElemType): boolean {
  switch (elemType) {
    case 'float32':
      return data instanceof Float32Array;
    case 'int8':
      return data instanceof Int8Array;
    case 'uint8':
    case 'bool':
      return data instanceof Uint8Array;
    case 'int32':
      return data instanceof Int32Array;
    case 'int64':
      return data instanceof BigInt64Array;
  }
}

// ---------------------------------------------------------------------------------------------------
// Graph builder

export class GraphBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly initializers: InitializerSpec[] = [];
  private readonly inputs: ValueSpec[] = [];
  private readonly outputs: ValueSpec[] = [];
  private readonly defined = new Set<string>();
  private readonly constants = new Map<string, string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** A name not used yet, for intermediate values. */
  fresh(prefix: string): string {
    let candidate: string;
    do {
      candidate = `${prefix}_${this.counter++}`;
    } while (this.defined.has(candidate));
    return candidate;
  }

  private define(name: string): void {
    if (name === '') throw new Error('empty value name');
    if (this.defined.has(name)) throw new Error(`value "${name}" is defined twice in graph ${this.name}`);
    this.defined.add(name);
  }

  input(name: string, elemType: ElemType, dims: readonly Dim[]): string {
    this.define(name);
    this.inputs.push({ name, elemType, dims });
    return name;
  }

  /** Declares a graph output; some node must produce `name`. */
  output(name: string, elemType: ElemType, dims: readonly Dim[]): void {
    this.outputs.push({ name, elemType, dims });
  }

  initializer(name: string, elemType: ElemType, dims: readonly number[], source: TensorSource): string {
    const byteLength = elementCount(dims) * ELEM_BYTES[elemType];
    if (typeof source !== 'function') checkTensorData(name, elemType, byteLength, source);
    this.define(name);
    this.initializers.push({ name, elemType, dims: [...dims], byteLength, source });
    return name;
  }

  /** A float32 weight; `data` may be a function so large weights are generated only while writing. */
  float32(name: string, dims: readonly number[], data: Float32Array | readonly number[] | (() => Float32Array)): string {
    const source = typeof data === 'function' ? data : data instanceof Float32Array ? data : Float32Array.from(data);
    return this.initializer(name, 'float32', dims, source);
  }

  int8(name: string, dims: readonly number[], data: Int8Array | (() => Int8Array)): string {
    return this.initializer(name, 'int8', dims, data);
  }

  /** A small constant, named automatically and shared between nodes that use the same value. */
  constant(elemType: 'float32' | 'int64' | 'int32' | 'int8', values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `${elemType}|${dims.join(',')}|${values.join(',')}`;
    const existing = this.constants.get(key);
    if (existing) return existing;
    let data: TensorData;
    if (elemType === 'float32') data = Float32Array.from(values);
    else if (elemType === 'int64') data = BigInt64Array.from(values, (v) => BigInt(v));
    else if (elemType === 'int32') data = Int32Array.from(values);
    else data = Int8Array.from(values);
    const name = this.initializer(this.fresh(`const_${elemType}`), elemType, dims, data);
    this.constants.set(key, name);
    return name;
  }

  /** Scalar (rank-0) constant. */
  scalar(elemType: 'float32' | 'int64' | 'int32', value: number): string {
    return this.constant(elemType, [value], []);
  }

  /** Adds one node with a single output and returns the output's name. */
  op(opType: string, inputs: readonly string[], attributes: Attributes = {}, output?: string): string {
    const out = output ?? this.fresh(opType.toLowerCase());
    this.opMulti(opType, inputs, [out], attributes);
    return out;
  }

  opMulti(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: Attributes = {}): readonly string[] {
    for (const input of inputs) {
      if (input !== '' && !this.defined.has(input)) {
        throw new Error(`node ${opType} in graph ${this.name} reads "${input}" before it is defined`);
      }
    }
    for (const out of outputs) this.define(out);
    this.nodes.push({ opType, inputs: [...inputs], outputs: [...outputs], attributes, name: this.fresh(`n_${opType}`) });
    return outputs;
  }

  /** Internal: what the encoder needs. */
  snapshot(): { nodes: readonly NodeSpec[]; initializers: readonly InitializerSpec[]; inputs: readonly ValueSpec[]; outputs: readonly ValueSpec[] } {
    for (const out of this.outputs) {
      if (!this.defined.has(out.name)) throw new Error(`graph ${this.name} declares output "${out.name}" that nothing produces`);
    }
    return { nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }
}

function checkTensorData(name: string, elemType: ElemType, byteLength: number, data: TensorData): void {
  if (!matchesElemType(data, elemType)) throw new Error(`initializer ${name}: data is not ${elemType}`);
  if (data.byteLength !== byteLength) {
    throw new Error(`initializer ${name}: ${data.byteLength} bytes of data for a ${byteLength}-byte tensor`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Encoding

export interface ModelOptions {
  opset?: number;
  irVersion?: number;
  producerName?: string;
  docString?: string;
  /** Written to ModelProto.metadata_props (visible in ORT's model metadata). */
  metadata?: Readonly<Record<string, string>>;
}

function varintLength(value: number): number {
  let n = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

/** Tag + length prefix of a length-delimited field (wire type 2). */
function fieldHeader(fieldNumber: number, length: number): Uint8Array {
  const bytes: number[] = [];
  let tag = (fieldNumber << 3) | 2;
  while (tag >= 128) {
    bytes.push((tag & 0x7f) | 0x80);
    tag >>>= 7;
  }
  bytes.push(tag);
  // Lengths can exceed 2^31: avoid 32-bit bit operations.
  let value = length;
  while (value >= 128) {
    bytes.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return Uint8Array.from(bytes);
}

function fieldHeaderLength(fieldNumber: number, length: number): number {
  return varintLength((fieldNumber << 3) | 2) + varintLength(length);
}

function valueInfo(v: ValueSpec): Record<string, unknown> {
  return {
    name: v.name,
    type: {
      tensor_type: {
        elem_type: ELEM_CODE[v.elemType],
        shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function tensorBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function attributeMessage(name: string, a: AttributeValue): Record<string, unknown> {
  const type = ATTRIBUTE_TYPE[a.kind];
  switch (a.kind) {
    case 'int':
      if (!Number.isSafeInteger(a.value)) throw new Error(`attribute ${name}: ${a.value} is not an integer`);
      return { name, type, i: a.value };
    case 'float':
      return { name, type, f: a.value };
    case 'string':
      return { name, type, s: Buffer.from(a.value, 'utf8') };
    case 'ints':
      return { name, type, ints: [...a.value] };
    case 'floats':
      return { name, type, floats: [...a.value] };
    case 'tensor': {
      const { elemType, dims, data } = a.value;
      checkTensorData(name, elemType, elementCount(dims) * ELEM_BYTES[elemType], data);
      return { name, type, t: { dims: [...dims], data_type: ELEM_CODE[elemType], raw_data: tensorBytes(data) } };
    }
  }
}

interface EncodingPlan {
  byteLength: number;
  chunks(): Generator<Uint8Array>;
}

function planModel(graph: GraphBuilder, options: ModelOptions): EncodingPlan {
  if (endianness() !== 'LE') throw new Error('ONNX raw_data is little-endian; this writer only runs on little-endian hosts');
  const g = graph.snapshot();

  const graphHead = GraphProto.encode(
    GraphProto.fromObject({
      name: graph.name,
      node: g.nodes.map((n) => ({
        name: n.name,
        op_type: n.opType,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes).map(([k, v]) => attributeMessage(k, v)),
      })),
      input: g.inputs.map(valueInfo),
      output: g.outputs.map(valueInfo),
    }),
  ).finish();

  const tensors = g.initializers.map((init) => {
    const meta = TensorProto.encode(
      TensorProto.fromObject({ name: init.name, dims: [...init.dims], data_type: ELEM_CODE[init.elemType] }),
    ).finish();
    const tensorLength = meta.length + fieldHeaderLength(TENSOR_RAW_DATA_FIELD, init.byteLength) + init.byteLength;
    return { init, meta, tensorLength };
  });
  const graphLength = tensors.reduce(
    (sum, t) => sum + fieldHeaderLength(GRAPH_INITIALIZER_FIELD, t.tensorLength) + t.tensorLength,
    graphHead.length,
  );

  const modelHead = ModelProto.encode(
    ModelProto.fromObject({
      ir_version: options.irVersion ?? 8,
      producer_name: options.producerName ?? 'triagem-synthetic',
      producer_version: '1',
      doc_string: options.docString ?? '',
      opset_import: [{ domain: '', version: options.opset ?? 17 }],
      metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    }),
  ).finish();

  const byteLength = modelHead.length + fieldHeaderLength(MODEL_GRAPH_FIELD, graphLength) + graphLength;

  function* chunks(): Generator<Uint8Array> {
    yield modelHead;
    yield fieldHeader(MODEL_GRAPH_FIELD, graphLength);
    yield graphHead;
    for (const { init, meta, tensorLength } of tensors) {
      yield fieldHeader(GRAPH_INITIALIZER_FIELD, tensorLength);
      yield meta;
      yield fieldHeader(TENSOR_RAW_DATA_FIELD, init.byteLength);
      const data = typeof init.source === 'function' ? init.source() : init.source;
      checkTensorData(init.name, init.elemType, init.byteLength, data);
      yield tensorBytes(data);
    }
  }

  return { byteLength, chunks };
}

/** Encodes a whole model in memory (for small graphs). */
export function encodeModel(graph: GraphBuilder, options: ModelOptions = {}): Uint8Array {
  const plan = planModel(graph, options);
  const out = new Uint8Array(plan.byteLength);
  let offset = 0;
  for (const chunk of plan.chunks()) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  if (offset !== plan.byteLength) throw new Error(`encoded ${offset} bytes, planned ${plan.byteLength}`);
  return out;
}

/**
 * Streams a model to `path` (via a `.partial` file renamed at the end, so a crash never leaves a
 * truncated model under the final name). Returns the file size.
 */
export function writeModelFile(path: string, graph: GraphBuilder, options: ModelOptions = {}): number {
  const plan = planModel(graph, options);
  const partial = `${path}.partial`;
  const fd = openSync(partial, 'w');
  let written = 0;
  try {
    for (const chunk of plan.chunks()) {
      let offset = 0;
      while (offset < chunk.length) offset += writeSync(fd, chunk, offset, chunk.length - offset);
      written += chunk.length;
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(partial, { force: true });
    throw error;
  }
  closeSync(fd);
  if (written !== plan.byteLength) {
    rmSync(partial, { force: true });
    throw new Error(`wrote ${written} bytes to ${path}, planned ${plan.byteLength}`);
  }
  renameSync(partial, path);
  return written;
}

// ---------------------------------------------------------------------------------------------------
// Decoding (for tests: which operators and initializers a written file holds)

export interface DecodedModel {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  metadata: Record<string, string>;
  nodes: { opType: string; inputs: string[]; outputs: string[] }[];
  initializers: { name: string; elemType: ElemType | 'other'; dims: number[]; byteLength: number }[];
}

interface RawModel {
  ir_version?: number;
  opset_import?: { domain?: string; version?: number }[];
  metadata_props?: { key?: string; value?: string }[];
  graph?: {
    node?: { op_type?: string; input?: string[]; output?: string[] }[];
    initializer?: { name?: string; data_type?: number; dims?: number[]; raw_data?: Uint8Array }[];
  };
}

export function decodeModel(bytes: Uint8Array): DecodedModel {
  const raw = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as RawModel;
  return {
    irVersion: raw.ir_version ?? 0,
    opsets: (raw.opset_import ?? []).map((o) => ({ domain: o.domain ?? '', version: o.version ?? 0 })),
    metadata: Object.fromEntries((raw.metadata_props ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
    nodes: (raw.graph?.node ?? []).map((n) => ({ opType: n.op_type ?? '', inputs: n.input ?? [], outputs: n.output ?? [] })),
    initializers: (raw.graph?.initializer ?? []).map((t) => ({
      name: t.name ?? '',
      elemType: ELEM_BY_CODE.get(t.data_type ?? 0) ?? 'other',
      dims: t.dims ?? [],
      byteLength: t.raw_data?.length ?? 0,
    })),
  };
}
