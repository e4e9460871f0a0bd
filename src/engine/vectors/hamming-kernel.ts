// The coarse stage's inner loop: Hamming distance from one query code to every stored code.
//
// JavaScript has no popcount instruction; the usual bit-twiddling popcount scans a million 512-bit
// codes in ~53 ms on the 2-core target machine. WebAssembly's `i64.popcnt` compiles to the CPU's
// POPCNT and the same scan takes ~5 ms, which is what makes a single-threaded two-stage search at 1M
// images fit in 50 ms without worker threads. The module is tiny, so it is assembled here from named
// opcodes rather than shipped as an opaque .wasm file: the bytes below read like the text format.

/** WebAssembly opcodes used by the kernel (names as in the text format). */
const OP = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br_if: 0x0d,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  i32_load: 0x28,
  i64_load: 0x29,
  i32_store: 0x36,
  i32_store16: 0x3b,
  i32_const: 0x41,
  i32_eqz: 0x45,
  i32_lt_u: 0x49,
  i32_add: 0x6a,
  i32_shl: 0x74,
  i64_popcnt: 0x7b,
  i64_add: 0x7c,
  i64_xor: 0x85,
  i32_wrap_i64: 0xa7,
} as const;

const VOID_BLOCK = 0x40;
const I32 = 0x7f;
const I64 = 0x7e;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function name(s: string): number[] {
  const bytes = [...Buffer.from(s, 'utf8')];
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/**
 * `hamming(codes, n, query, out, hist)`: for i in [0, n): d = popcount(code_i XOR query); out[i] (u16)
 * = d; hist[d] (u32) += 1. Each code is `words` little-endian u64 words stored back to back from byte
 * offset `codes`. Query words are hoisted into locals; the per-code body is unrolled `words` times.
 * The histogram lets the caller find the distance cut for the k nearest without another pass.
 */
function kernelBytes(words: number): Uint8Array<ArrayBuffer> {
  // Locals: 0 codes, 1 n, 2 query, 3 out, 4 hist (params); 5 i, 6 d, 7 addr (i32); 8.. query words (i64).
  const P_CODES = 0;
  const P_N = 1;
  const P_QUERY = 2;
  const P_OUT = 3;
  const P_HIST = 4;
  const L_I = 5;
  const L_D = 6;
  const L_ADDR = 7;
  const L_Q0 = 8;
  const stride = words * 8;
  const body: number[] = [];
  for (let w = 0; w < words; w++) {
    body.push(OP.local_get, P_QUERY, OP.i64_load, 3, ...uleb(w * 8), OP.local_set, ...uleb(L_Q0 + w));
  }
  body.push(OP.block, VOID_BLOCK);
  body.push(OP.local_get, P_N, OP.i32_eqz, OP.br_if, 0); // nothing to do for n = 0
  body.push(OP.loop, VOID_BLOCK);
  for (let w = 0; w < words; w++) {
    body.push(OP.local_get, P_CODES, OP.i64_load, 3, ...uleb(w * 8));
    body.push(OP.local_get, ...uleb(L_Q0 + w), OP.i64_xor, OP.i64_popcnt);
    if (w > 0) body.push(OP.i64_add);
  }
  body.push(OP.i32_wrap_i64, OP.local_set, L_D);
  // out[i] = d  (address out + 2i)
  body.push(OP.local_get, P_OUT, OP.local_get, L_I, OP.i32_const, 1, OP.i32_shl, OP.i32_add);
  body.push(OP.local_get, L_D, OP.i32_store16, 1, 0);
  // hist[d] += 1  (address hist + 4d)
  body.push(OP.local_get, P_HIST, OP.local_get, L_D, OP.i32_const, 2, OP.i32_shl, OP.i32_add, OP.local_tee, L_ADDR);
  body.push(OP.local_get, L_ADDR, OP.i32_load, 2, 0, OP.i32_const, 1, OP.i32_add, OP.i32_store, 2, 0);
  // codes += stride
  body.push(OP.local_get, P_CODES, OP.i32_const, ...sleb(stride), OP.i32_add, OP.local_set, P_CODES);
  // if (++i < n) continue
  body.push(OP.local_get, L_I, OP.i32_const, 1, OP.i32_add, OP.local_tee, L_I, OP.local_get, P_N, OP.i32_lt_u, OP.br_if, 0);
  body.push(OP.end); // loop
  body.push(OP.end); // block
  body.push(OP.end); // function

  const locals = [2, ...uleb(3), I32, ...uleb(words), I64];
  const func = [...locals, ...body];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [1, 0x60, 5, I32, I32, I32, I32, I32, 0]), // type 0: (i32 × 5) -> ()
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x00]), // import memory, min 0 pages
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(7, [1, ...name('hamming'), 0x00, 0]), // export function 0
    ...section(10, [1, ...uleb(func.length), ...func]),
  ];
  return Uint8Array.from(bytes);
}

const modules = new Map<number, WebAssembly.Module>();

function kernelModule(words: number): WebAssembly.Module {
  let mod = modules.get(words);
  if (!mod) {
    mod = new WebAssembly.Module(kernelBytes(words));
    modules.set(words, mod);
  }
  return mod;
}

const PAGE = 65536;

type Kernel = (codes: number, n: number, query: number, out: number, hist: number) => void;

/** The result of one scan: views into the scanner's memory, valid until its next call. */
export interface ScanResult {
  /** Distance of each stored code to the query. */
  distances: Uint16Array;
  /** histogram[d] = how many codes are at distance d. */
  histogram: Uint32Array;
}

/**
 * Packed codes in WebAssembly memory with a scan that writes one u16 distance per code.
 * Layout: [query: stride][histogram: (bits + 1) u32, padded to 8][codes: capacity × stride][distances].
 */
export class HammingScanner {
  readonly stride: number;
  private readonly bins: number;
  private readonly histBytes: number;
  private memory: WebAssembly.Memory;
  private run: Kernel;
  private capacity = 0;
  private count = 0;

  constructor(readonly words: number) {
    if (!Number.isInteger(words) || words <= 0 || words > 64) throw new Error(`unsupported code size: ${words} words`);
    this.stride = words * 8;
    this.bins = words * 64 + 1;
    this.histBytes = Math.ceil((this.bins * 4) / 8) * 8;
    this.memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(kernelModule(words), { env: { memory: this.memory } });
    this.run = instance.exports.hamming as Kernel;
  }

  get size(): number {
    return this.count;
  }

  private codesOffset(): number {
    return this.stride + this.histBytes;
  }

  private distancesOffset(): number {
    return this.codesOffset() + this.capacity * this.stride;
  }

  /** Makes room for `n` codes, keeping the ones already stored. */
  reserve(n: number): void {
    if (n <= this.capacity) return;
    const capacity = Math.max(n, Math.ceil(this.capacity * 1.25), 1024);
    const bytes = this.codesOffset() + capacity * (this.stride + 2);
    const pages = Math.ceil(bytes / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (pages > have) this.memory.grow(pages - have);
    this.capacity = capacity;
  }

  /** Appends many codes stored back to back. */
  append(codes: Uint8Array): void {
    const n = codes.length / this.stride;
    if (!Number.isInteger(n)) throw new Error('packed codes are not a whole number of codes');
    this.reserve(this.count + n);
    new Uint8Array(this.memory.buffer, this.codesOffset() + this.count * this.stride, codes.length).set(codes);
    this.count += n;
  }

  /** Overwrites the code at `slot` (0 ≤ slot < size). */
  set(slot: number, code: Uint8Array): void {
    if (slot < 0 || slot >= this.count || code.length !== this.stride) throw new Error(`cannot set code ${slot} of ${this.count}`);
    new Uint8Array(this.memory.buffer, this.codesOffset() + slot * this.stride, this.stride).set(code);
  }

  /** Keeps the codes whose `keep[slot]` is set, in order, and drops the rest. */
  retain(keep: Uint8Array): void {
    const all = new Uint8Array(this.memory.buffer, this.codesOffset(), this.count * this.stride);
    let n = 0;
    for (let slot = 0; slot < this.count; slot++) {
      if (!keep[slot]) continue;
      if (n !== slot) all.copyWithin(n * this.stride, slot * this.stride, (slot + 1) * this.stride);
      n++;
    }
    this.count = n;
  }

  /** All stored codes back to back (a view: valid until the next call that changes the scanner). */
  codes(): Uint8Array {
    return new Uint8Array(this.memory.buffer, this.codesOffset(), this.count * this.stride);
  }

  /** Distances of every stored code to `query`, and their histogram. */
  scan(query: Uint8Array): ScanResult {
    if (query.length !== this.stride) throw new Error(`query code has ${query.length} bytes, expected ${this.stride}`);
    this.reserve(1);
    new Uint8Array(this.memory.buffer, 0, this.stride).set(query);
    const histogram = new Uint32Array(this.memory.buffer, this.stride, this.bins);
    histogram.fill(0);
    const out = this.distancesOffset();
    this.run(this.codesOffset(), this.count, 0, out, this.stride);
    return { distances: new Uint16Array(this.memory.buffer, out, this.count), histogram };
  }
}
