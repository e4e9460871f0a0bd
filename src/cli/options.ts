// Flags every command that touches models or a library shares, turned into an application context.

import { AppContext, DEVICE_REQUESTS, PRECISIONS, resolveConfig, type DeviceRequest, type ModelUse, type Precision } from '../app/index.js';
import { UsageError } from '../shared/errors.js';
import { intOption, type CliIo, type OptionSpec } from './command.js';
import { safe } from './format.js';

export const MODEL_OPTIONS = {
  model: { type: 'string' },
  'models-dir': { type: 'string' },
  device: { type: 'string' },
  precision: { type: 'string' },
} as const satisfies OptionSpec;

export function parseDevice(value: string | undefined): DeviceRequest {
  if (value === undefined) return 'auto';
  if (!(DEVICE_REQUESTS as readonly string[]).includes(value)) {
    throw new UsageError(`--device must be one of ${DEVICE_REQUESTS.join('|')}, got "${value}"`);
  }
  return value as DeviceRequest;
}

export function parsePrecision(value: string | undefined): Precision | undefined {
  if (value === undefined || value === 'auto') return undefined;
  if (!(PRECISIONS as readonly string[]).includes(value)) {
    throw new UsageError(`--precision must be one of ${PRECISIONS.join('|')}, got "${value}"`);
  }
  return value as Precision;
}

export interface AppFlags {
  library?: string;
  'models-dir'?: string;
  device?: string;
  batchSize?: number;
}

/** The context a command runs its use case in; close it when done. */
export function openApp(flags: AppFlags): AppContext {
  return new AppContext(resolveConfig({ library: flags.library, modelsDir: flags['models-dir'], device: parseDevice(flags.device), batchSize: flags.batchSize, oneShot: true }));
}

/** Smart Image Sorter spells it `--batch_size`; the dashed form is accepted too. */
export function batchSizeOption(values: { batch_size?: string; 'batch-size'?: string }): number | undefined {
  const flag = values.batch_size ?? values['batch-size'];
  return flag === undefined ? undefined : intOption(flag, 'batch_size', 1);
}

/**
 * Says which model runs and why on stderr (stdout stays the answer), plus any advice and a device
 * fallback the user asked to avoid.
 */
export function reportModel(io: CliIo, use: Pick<ModelUse, 'id' | 'reason' | 'advice'> & Partial<ModelUse>, verbose = false): void {
  io.err(`model: ${use.id} (${safe(use.reason)})`);
  if (use.advice) io.err(`  tip: ${safe(use.advice)}`);
  if (!use.device || !use.deviceLine) return;
  if (use.device.fallbackReason && use.device.requested !== 'auto') io.err(use.deviceLine);
  else if (verbose) io.err(`${use.id} (${use.precision}) — ${use.deviceLine}`);
}

/** Runs `fn` with a context and closes it after, whatever happens. */
export async function withApp<T>(flags: AppFlags, fn: (app: AppContext) => Promise<T>): Promise<T> {
  const app = openApp(flags);
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}
