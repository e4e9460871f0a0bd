// Can this install run an execution provider? Answered by really opening a session on it, with a
// one-node graph built here, so `triagem doctor` can tell before any model is downloaded.
//
// The graph is encoded by hand (ONNX is protobuf; this is ~20 bytes of fields) because the only
// protobuf library in the project is a test-time dependency, and one Identity node needs no more.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { errorMessage } from '../errors.js';
import { compiledProviders, ort, platformAccelerator } from './runtime.js';
import type { ExecutionProvider } from './types.js';

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

/** ModelProto: y = Identity(x), x and y float[1]; IR 7, opset 13. */
export function identityModel(): Uint8Array {
  const tensorType = field(1, 2, [...field(1, 0, 1), ...field(2, 2, field(1, 2, field(1, 0, 1)))]); // elem FLOAT, shape [1]
  const valueInfo = (name: string) => [...field(1, 2, text(name)), ...field(2, 2, tensorType)];
  const node = [...field(1, 2, text('x')), ...field(2, 2, text('y')), ...field(4, 2, text('Identity'))];
  const graph = [...field(1, 2, node), ...field(2, 2, text('probe')), ...field(11, 2, valueInfo('x')), ...field(12, 2, valueInfo('y'))];
  return Uint8Array.from([...field(1, 0, 7), ...field(7, 2, graph), ...field(8, 2, field(2, 0, 13))]);
}

export interface ProviderProbe {
  provider: ExecutionProvider;
  usable: boolean;
  /** Why not, in words a user can act on. */
  reason?: string;
}

const NAMES: Record<ExecutionProvider, string> = { cpu: 'CPU', cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML' };

/** Where onnxruntime-node keeps its native libraries (the CUDA provider is added there at install). */
function ortBinaryDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    return path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/** Opens the one-node graph on `provider` alone (no CPU fallback), so failure means the provider cannot run. */
export async function probeProvider(provider: ExecutionProvider): Promise<ProviderProbe> {
  const name = NAMES[provider];
  if (provider !== 'cpu') {
    const native = platformAccelerator();
    if (native !== provider) return { provider, usable: false, reason: `${name} is not available on ${process.platform}/${process.arch}` };
    if (!compiledProviders().has(provider)) return { provider, usable: false, reason: `this onnxruntime-node build does not include ${name}` };
    if (provider === 'cuda') {
      const dir = ortBinaryDir();
      if (dir && !fs.existsSync(path.join(dir, 'libonnxruntime_providers_cuda.so'))) {
        return {
          provider,
          usable: false,
          reason: 'onnxruntime-node was installed without its CUDA provider (the project .npmrc skips that download); run `npm run setup:cuda` on a machine with an NVIDIA GPU, CUDA 12 and cuDNN 9',
        };
      }
    }
  }
  try {
    const session = await ort.InferenceSession.create(identityModel(), { executionProviders: [provider], logSeverityLevel: 4 });
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1]), [1]) });
    await session.release();
    if ((out.y.data as Float32Array)[0] !== 1) return { provider, usable: false, reason: `${name} returned a wrong result on a test graph` };
    return { provider, usable: true };
  } catch (err) {
    const detail = errorMessage(err).split('\n')[0].slice(0, 300);
    const hint = provider === 'cuda' ? ' (is the NVIDIA driver installed, with CUDA 12 and cuDNN 9 libraries on the library path?)' : '';
    return { provider, usable: false, reason: `${name} could not be initialised: ${detail}${hint}` };
  }
}
