import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { TriagemError, errorMessage } from '../errors.js';
import type { DeviceReport, DeviceRequest, ExecutionProvider } from './types.js';

export { ort };

// A missing CUDA library is an expected condition that we report in our own words (see openSession);
// ONNX Runtime would otherwise also print it as a red native error line on every start.
ort.env.logLevel = 'fatal';

const PROVIDER_NAMES: Record<Exclude<ExecutionProvider, 'cpu'>, string> = {
  cuda: 'CUDA',
  dml: 'DirectML',
  coreml: 'CoreML',
};

/** The accelerator `--device auto` tries first on this platform, if any. */
export function platformAccelerator(platform: NodeJS.Platform = process.platform, arch: string = process.arch): ExecutionProvider | null {
  if (platform === 'linux' && arch === 'x64') return 'cuda';
  if (platform === 'win32') return 'dml';
  if (platform === 'darwin') return 'coreml';
  return null;
}

/** Why an explicitly requested provider cannot exist on this platform at all (no need to try it). */
function platformMismatch(provider: ExecutionProvider, platform: NodeJS.Platform, arch: string): string | null {
  if (provider === 'cuda' && !(platform === 'linux' && arch === 'x64')) return 'CUDA is only available in the Linux x64 build of ONNX Runtime';
  if (provider === 'dml' && platform !== 'win32') return 'DirectML is only available on Windows';
  if (provider === 'coreml' && platform !== 'darwin') return 'CoreML is only available on macOS';
  return null;
}

/** Providers this onnxruntime-node binary was built with (their libraries may still be missing). */
export function compiledProviders(): Set<string> {
  const list = typeof ort.listSupportedBackends === 'function' ? ort.listSupportedBackends() : [];
  return new Set(list.map((b) => b.name));
}

export interface SessionOptions {
  threads?: number;
  /** Session config entries over SESSION_CONFIG's (the index benchmark compares settings with these). */
  config?: Readonly<Record<string, string>>;
}

/**
 * ONNX Runtime session config entries (keys of onnxruntime_session_options_config_keys.h) every
 * session gets.
 *
 * allow_spinning 0: idle intra-op threads sleep instead of spin-waiting for the next parallel loop
 * (and for ~tens of ms after each run). Indexing decodes images in libuv's pool on the same cores,
 * and a spinning thread takes a core from them for nothing. `npm run bench -- index
 * --arrangements app,old,no-spinning` on the 2-core dev machine (shared, load 4–6; ViT-B/32 stand-in,
 * web-size photos, 192 images × 3 repeats, medians), core-ms per image, spinning → not:
 *   bare session.run   fp32 84.1 → 62.7   q8 57.8 → 44.6
 *   whole index run    fp32 97.2 → 76.2   q8 73.0 → 64.0
 * (Wall-clock rates on that machine swung 4× with the neighbours' load, so the CPU time decided.)
 */
export const SESSION_CONFIG: Readonly<Record<string, string>> = { 'session.intra_op.allow_spinning': '0' };

function sessionOptions(provider: ExecutionProvider, opts: SessionOptions): ort.InferenceSession.SessionOptions {
  const threads = opts.threads ?? Math.max(1, os.availableParallelism());
  return {
    executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    logSeverityLevel: 3,
    // The binding adds each string value as a config entry under its (dotted) key.
    extra: { ...SESSION_CONFIG, ...opts.config },
  };
}

/** Opens an ONNX graph on CPU; a corrupt or truncated file becomes an error naming the file. */
async function createOn(file: string, provider: ExecutionProvider, opts: SessionOptions): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, sessionOptions(provider, opts));
}

export async function openCpuSession(file: string, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  try {
    return await createOn(file, 'cpu', opts);
  } catch (err) {
    throw new TriagemError(`cannot load ONNX graph (corrupt, truncated or not ONNX): ${firstLine(errorMessage(err))}`, 'bad-onnx', file);
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0].slice(0, 300);
}

/**
 * Opens a graph on the requested device. An accelerator that is missing, not built in, or fails to
 * initialise falls back to CPU, and the report says why, so the user knows they are not on the GPU.
 * `pinned` reuses an earlier decision (the second tower must not retry a provider that just failed).
 */
export async function openSession(
  file: string,
  device: DeviceRequest,
  opts: SessionOptions & { pinned?: DeviceReport; platform?: NodeJS.Platform; arch?: string } = {},
): Promise<{ session: ort.InferenceSession; report: DeviceReport }> {
  if (opts.pinned) {
    const session = opts.pinned.provider === 'cpu' ? await openCpuSession(file, opts) : await createOn(file, opts.pinned.provider, opts);
    return { session, report: opts.pinned };
  }
  const platform = opts.platform ?? process.platform;
  const arch = opts.arch ?? process.arch;
  const wanted: ExecutionProvider | null = device === 'auto' ? platformAccelerator(platform, arch) : device;
  if (wanted === null || wanted === 'cpu') {
    const report: DeviceReport = { requested: device, provider: 'cpu' };
    if (device === 'auto') report.fallbackReason = `no GPU execution provider exists for ${platform}/${arch}`;
    return { session: await openCpuSession(file, opts), report };
  }
  const name = PROVIDER_NAMES[wanted];
  const mismatch = platformMismatch(wanted, platform, arch);
  let reason: string;
  if (mismatch) {
    reason = mismatch;
  } else if (!compiledProviders().has(wanted)) {
    // ONNX Runtime silently ignores a provider it was not built with, so ask the build first.
    reason = `${name} is not included in this onnxruntime-node build`;
  } else {
    try {
      const session = await createOn(file, wanted, opts);
      return { session, report: { requested: device, provider: wanted } };
    } catch (err) {
      reason = `${name} could not be initialised: ${firstLine(errorMessage(err))}`;
      if (wanted === 'cuda') reason += ' (are the CUDA 12 and cuDNN 9 libraries installed, and was onnxruntime-node installed without ONNXRUNTIME_NODE_INSTALL=skip?)';
    }
  }
  return {
    session: await openCpuSession(file, opts),
    report: { requested: device, provider: 'cpu', fallbackReason: `${reason}; running on CPU instead` },
  };
}

/** A one-line human report of the provider in use, for CLI stderr and the UI status bar. */
export function describeDevice(report: DeviceReport): string {
  const used = report.provider === 'cpu' ? 'CPU' : PROVIDER_NAMES[report.provider];
  if (!report.fallbackReason) return `execution provider: ${used}`;
  if (report.requested === 'auto') return `execution provider: ${used} (${report.fallbackReason})`;
  return `warning: --device ${report.requested} unavailable: ${report.fallbackReason}`;
}
