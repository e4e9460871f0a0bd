import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../shared/errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** True when stderr is a terminal: progress bars are drawn only then. */
  isTty: boolean;
}

/** What a command module exports: its usage text and what it does. */
export interface Command {
  usage: string;
  run(argv: string[], io: CliIo): Promise<number>;
}

/**
 * One line of the command list. Modules load only when their command runs: most commands pull in
 * ONNX Runtime, sharp and SQLite, which `triagem --help` must not pay for.
 */
export interface CommandEntry {
  /** Space-separated path, e.g. "models list". */
  name: string;
  summary: string;
  load(): Promise<Command>;
}

/** Options every command that touches models or a library accepts. */
export const COMMON_OPTIONS = {
  'models-dir': { type: 'string' },
  library: { type: 'string' },
  device: { type: 'string' },
  json: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies OptionSpec;

/** parseArgs with usage errors turned into UsageError (exit 2). */
export function parse<O extends OptionSpec>(argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

export function intOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

export function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  return n;
}
