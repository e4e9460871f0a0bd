// Can this install run an execution provider? Answered by really opening a session on it, with a
// one-node graph (tiny-onnx.ts), so `triagem doctor` can tell before any model is downloaded.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { errorMessage } from '../errors.js';
import { compiledProviders, ort, platformAccelerator } from './runtime.js';
import { identityModel } from './tiny-onnx.js';
import type { ExecutionProvider } from './types.js';

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
