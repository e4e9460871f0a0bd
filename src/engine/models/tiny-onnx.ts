// One-node ONNX graphs built in code: the provider probe's Identity and the sort's MatMul.
//
// Encoded by hand (ONNX is protobuf, and these graphs are a few dozen bytes of fields) because the
// only protobuf library in the project is a test-time dependency.

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

const field = (no: number, wire: 0 | 2, payload: number[] | number): number[] =>
  wire === 0 ? [...varint((no << 3) | 0), ...varint(payload as number)] : [...varint((no << 3) | 2), ...varint((payload as number[]).length), ...(payload as number[])];
const text = (s: string): number[] => [...Buffer.from(s, 'utf8')];

/** A float tensor type whose dimensions are numbers (fixed) or names (symbolic). */
function floatTensorType(dims: readonly (number | string)[]): number[] {
  const shape = dims.flatMap((d) => field(1, 2, typeof d === 'number' ? field(1, 0, d) : field(2, 2, text(d))));
  return field(1, 2, [...field(1, 0, 1), ...field(2, 2, shape)]); // TypeProto.tensor_type: elem FLOAT, shape
}

function valueInfo(name: string, dims: readonly (number | string)[]): number[] {
  return [...field(1, 2, text(name)), ...field(2, 2, floatTensorType(dims))];
}

/** ModelProto (IR 7, opset 13) of one node `op` from `inputs` to output `y`. */
function oneNode(op: string, inputs: readonly [string, readonly (number | string)[]][], output: readonly (number | string)[]): Uint8Array {
  const node = [...inputs.flatMap(([name]) => field(1, 2, text(name))), ...field(2, 2, text('y')), ...field(4, 2, text(op))];
  const graph = [
    ...field(1, 2, node),
    ...field(2, 2, text(op.toLowerCase())),
    ...inputs.flatMap(([name, dims]) => field(11, 2, valueInfo(name, dims))),
    ...field(12, 2, valueInfo('y', output)),
  ];
  return Uint8Array.from([...field(1, 0, 7), ...field(7, 2, graph), ...field(8, 2, field(2, 0, 13))]);
}

/** y = Identity(x), x and y float[1]. */
export function identityModel(): Uint8Array {
  return oneNode('Identity', [['x', [1]]], [1]);
}

/** y[n, l] = MatMul(a[n, d], b[d, l]), every dimension symbolic. */
export function matmulModel(): Uint8Array {
  return oneNode('MatMul', [['a', ['n', 'd']], ['b', ['d', 'l']]], ['n', 'l']);
}
