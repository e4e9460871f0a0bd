// The benchmarks' "raw" inference: bare `session.run` on ready input tensors, in a session opened
// with the app's own options (runtime.ts), so nothing but onnxruntime is timed — no batching copies,
// no output normalisation, no decoding.
import path from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { ort, openCpuSession } from '../src/engine/models/runtime.js';
import type { ClipModel } from '../src/engine/models/types.js';

/** Wall and CPU time (all threads of the process: onnxruntime's, libuv's, libvips') of `fn`. */
export async function measure<T>(fn: () => Promise<T> | T): Promise<{ value: T; wallMs: number; coreMs: number }> {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  return { value, wallMs, coreMs: (used.user + used.system) / 1000 };
}

/** Lets onnxruntime's spinning pool threads go idle, so their spin is not billed to what runs next. */
export const settle = (ms = 50) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface BareVision {
  session: InferenceSession;
  input: string;
  output: string;
  close(): Promise<void>;
}

/** A second session on the same vision graph the model uses, with the same threads and options. */
export async function openBareVision(model: ClipModel, threads?: number, config?: Readonly<Record<string, string>>): Promise<BareVision> {
  const session = await openCpuSession(path.join(model.info.dir, model.info.files.vision), { threads, config });
  return { session, input: session.inputNames[0], output: session.outputNames[0], close: () => session.release() };
}

/** Ready [n,3,S,S] feeds, `batch` images each, from single-image tensors (cycled to fill `count`). */
export function readyBatches(images: readonly Float32Array[], batch: number, count: number, side: number): Tensor[] {
  const plane = 3 * side * side;
  const out: Tensor[] = [];
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const data = new Float32Array(n * plane);
    for (let i = 0; i < n; i++) data.set(images[(start + i) % images.length], i * plane);
    out.push(new ort.Tensor('float32', data, [n, 3, side, side]));
  }
  return out;
}

export interface BareRate {
  imagesPerS: number;
  wallMsPerImage: number;
  coreMsPerImage: number;
}

export async function bareRate(v: BareVision, batches: readonly Tensor[]): Promise<BareRate> {
  const images = batches.reduce((n, t) => n + t.dims[0], 0);
  await settle();
  const { wallMs, coreMs } = await measure(async () => {
    for (const t of batches) {
      const out = await v.session.run({ [v.input]: t }, [v.output]);
      out[v.output].dispose?.();
    }
  });
  return { imagesPerS: images / (wallMs / 1000), wallMsPerImage: wallMs / images, coreMsPerImage: coreMs / images };
}
