// Model use cases: list, download, import, verify, remove, and `doctor` — what this install can run.

import fs from 'node:fs';
import os from 'node:os';
import type { DownloadProgress, InstallResult, ModelListEntry, VerifyResult } from '../engine/models/manager.js';
import { probeProvider, type ProviderProbe } from '../engine/models/probe.js';
import { describeDevice, ort, platformAccelerator } from '../engine/models/runtime.js';
import type { DeviceReport, DeviceRequest, ExecutionProvider, Precision } from '../engine/models/types.js';
import { userDataDir } from '../engine/paths.js';
import { errorMessage } from '../engine/errors.js';
import type { AppContext, OpenModel } from './context.js';

export type { DownloadProgress, InstallResult, ModelListEntry, VerifyResult };

/** Which model ran, why, and on what: every use case that loads a model reports this. */
export interface ModelUse {
  id: string;
  key: string;
  precision: string;
  reason: string;
  advice?: string;
  device: DeviceReport;
  /** One line for humans: the provider, and why it is not the one asked for. */
  deviceLine: string;
}

export function modelUse(open: OpenModel): ModelUse {
  return {
    id: open.model.info.id,
    key: open.key,
    precision: open.model.info.precision,
    reason: open.choice.reason,
    advice: open.choice.advice,
    device: open.model.info.device,
    deviceLine: describeDevice(open.model.info.device),
  };
}

export function listModels(app: AppContext): Promise<ModelListEntry[]> {
  return app.modelManager().list();
}

export function downloadModel(
  app: AppContext,
  id: string,
  opts: { precision?: Precision; force?: boolean; signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void } = {},
): Promise<InstallResult> {
  return app.modelManager().download(id, opts);
}

export function importModel(app: AppContext, folder: string, opts: { id?: string; force?: boolean } = {}): Promise<InstallResult> {
  return app.modelManager().import(folder, opts);
}

export function verifyModel(app: AppContext, id: string): Promise<VerifyResult> {
  return app.modelManager().verify(id);
}

export function removeModel(app: AppContext, id: string): Promise<{ id: string; dir: string }> {
  return app.modelManager().remove(id);
}

export interface DoctorReport {
  triagem: string;
  node: string;
  platform: string;
  cpu: { model: string; cores: number; flags: string[] };
  onnxruntime: { version: string; backends: string[] };
  providers: ProviderProbe[];
  /** What `--device <requested>` runs on here, and why. */
  device: { requested: DeviceRequest; provider: ExecutionProvider; reason: string };
  dataDir: string;
  modelsDir: string;
  models: { id: string; installed: boolean; problem?: string; isDefault: boolean }[];
  /** The model a new Portuguese and a new English job would use, or why none can run. */
  defaultModel: { pt: string; en: string };
  library: { path: string; exists: boolean; bytes?: number; files?: number; models?: string[]; error?: string };
}

/** The SIMD extensions that decide inference speed (AVX2 vs AVX-512 differ by about 2×). */
function cpuFlags(): string[] {
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const line = info.split('\n').find((l) => l.startsWith('flags')) ?? '';
    const flags = new Set(line.split(':')[1]?.trim().split(/\s+/) ?? []);
    return ['avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx_vnni', 'amx_int8'].filter((f) => flags.has(f));
  } catch {
    return [];
  }
}

async function defaultFor(app: AppContext, texts: string[]): Promise<string> {
  try {
    const choice = await app.chooseModel({ texts });
    return `${choice.id} (${choice.reason}${choice.advice ? `; ${choice.advice}` : ''})`;
  } catch (err) {
    return `none: ${errorMessage(err)}`;
  }
}

export async function doctor(app: AppContext, version: string): Promise<DoctorReport> {
  const providers: ProviderProbe[] = [];
  for (const p of ['cpu', 'cuda', 'dml', 'coreml'] as const) providers.push(await probeProvider(p));
  const requested = app.config.device;
  const wanted: ExecutionProvider = requested === 'auto' ? (platformAccelerator() ?? 'cpu') : requested;
  const probe = providers.find((p) => p.provider === wanted);
  const device: DoctorReport['device'] = probe?.usable
    ? { requested, provider: wanted, reason: requested === 'auto' ? `${wanted} is this platform's accelerator and it works` : 'as requested' }
    : { requested, provider: 'cpu', reason: wanted === 'cpu' ? 'as requested' : `${probe?.reason ?? `${wanted} unavailable`}; running on CPU instead` };

  const models = await listModels(app).catch(() => [] as ModelListEntry[]);
  const library: DoctorReport['library'] = { path: app.libraryPath, exists: app.libraryExists() };
  if (library.exists) {
    try {
      library.bytes = fs.statSync(app.libraryPath).size;
      const lib = app.library('read');
      library.files = lib.counts().presentFiles;
      library.models = lib.listModels().map((m) => `${m.key} (${m.count})`);
    } catch (err) {
      library.error = errorMessage(err);
    }
  }
  return {
    triagem: version,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    cpu: { model: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism(), flags: cpuFlags() },
    onnxruntime: { version: ort.env.versions.common, backends: ort.listSupportedBackends().map((b) => b.name) },
    providers,
    device,
    dataDir: userDataDir(),
    modelsDir: app.config.modelsDir,
    models: models.map((m) => ({ id: m.id, installed: m.installed, ...(m.problem ? { problem: m.problem } : {}), isDefault: m.default })),
    defaultModel: { pt: await defaultFor(app, ['uma foto de um documento']), en: await defaultFor(app, ['a photo of a document']) },
    library,
  };
}
