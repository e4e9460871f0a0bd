import fs from 'node:fs';
import path from 'node:path';
import { TriagemError, UsageError } from '../engine/errors.js';
import { loadModel } from '../engine/models/model.js';
import { describeDevice } from '../engine/models/runtime.js';
import { DEVICE_REQUESTS, PRECISIONS, type ClipModel, type DeviceRequest, type Precision } from '../engine/models/types.js';
import { resolveModelsDir } from '../engine/paths.js';
import type { CliIo } from './command.js';

/** The English default, used when neither --model nor TRIAGEM_MODEL names one. */
export const DEFAULT_MODEL_ID = 'clip-vit-b32';

export const MODEL_OPTIONS = {
  model: { type: 'string' },
  'models-dir': { type: 'string' },
  device: { type: 'string' },
  precision: { type: 'string' },
} as const;

export function parseDevice(value: string | undefined): DeviceRequest {
  if (value === undefined) return 'auto';
  if (!(DEVICE_REQUESTS as readonly string[]).includes(value)) {
    throw new UsageError(`--device must be one of ${DEVICE_REQUESTS.join('|')}, got "${value}"`);
  }
  return value as DeviceRequest;
}

export function parsePrecision(value: string | undefined): Precision {
  if (value === undefined) return 'auto';
  if (!(PRECISIONS as readonly string[]).includes(value)) {
    throw new UsageError(`--precision must be one of ${PRECISIONS.join('|')}, got "${value}"`);
  }
  return value as Precision;
}

/** `--model` may be an installed id or a model folder path. */
export function resolveModelDir(model: string | undefined, modelsDirFlag: string | undefined): string {
  const id = model ?? process.env.TRIAGEM_MODEL ?? DEFAULT_MODEL_ID;
  const modelsDir = resolveModelsDir(modelsDirFlag);
  const installed = path.join(modelsDir, id);
  if (!id.includes('/') && !id.includes(path.sep) && fs.existsSync(installed)) return installed;
  if (fs.existsSync(id) && fs.statSync(id).isDirectory()) return path.resolve(id);
  throw new TriagemError(
    `model "${id}" is not installed in ${modelsDir}. Run \`triagem models download ${id}\` (or \`triagem models import <folder>\` on an offline machine), or pass --models-dir`,
    'model-not-installed',
  );
}

export interface OpenModelOptions {
  model?: string;
  modelsDir?: string;
  device?: string;
  precision?: string;
  batchSize?: number;
  threads?: number;
  io: CliIo;
  /** Print the execution-provider line even without a fallback. */
  verbose?: boolean;
}

export async function openModelForCli(opts: OpenModelOptions): Promise<ClipModel> {
  const device = parseDevice(opts.device);
  const precision = parsePrecision(opts.precision);
  const dir = resolveModelDir(opts.model, opts.modelsDir);
  const model = await loadModel(dir, { device, precision, batchSize: opts.batchSize, threads: opts.threads });
  const report = model.info.device;
  if (report.fallbackReason && report.requested !== 'auto') opts.io.err(describeDevice(report));
  else if (opts.verbose) opts.io.err(`${model.info.id} (${model.info.precision}) — ${describeDevice(report)}`);
  return model;
}
