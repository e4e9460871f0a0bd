// What a benchmark ran on. Inference speed differs ~2× between AVX2 and AVX-512 machines (and int8
// gains more with VNNI), so every inference number needs these beside it.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';

export interface MachineInfo {
  cpu: string;
  /** What the process may use (os.availableParallelism): onnxruntime's and libuv's thread budget. */
  cores: number;
  /** SIMD flags that decide which inference kernels run, space-separated (from /proc/cpuinfo). */
  cpu_flags: string;
  avx2: boolean;
  avx512: boolean;
  /** avx512_vnni or avx_vnni: int8 dot products in one instruction. */
  vnni: boolean;
  onnxruntime_node: string;
  node: string;
  /** 1-minute load average when the suite started: above `cores`, other processes share the CPUs. */
  load_average_at_start: number;
}

const SIMD_FLAG = /^(avx2|avx512\w*|avx_vnni\w*|amx\w*|fma|f16c)$/;

function cpuFlags(): string[] | null {
  try {
    const line = fs
      .readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => /^(flags|Features)\s*:/.test(l));
    return line ? line.split(':')[1].trim().split(/\s+/) : null;
  } catch {
    return null; // not Linux
  }
}

export function machineInfo(): MachineInfo {
  const flags = cpuFlags();
  const simd = flags?.filter((f) => SIMD_FLAG.test(f)).sort() ?? [];
  const require = createRequire(import.meta.url);
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    cpu_flags: flags === null ? 'unknown (no /proc/cpuinfo)' : simd.join(' ') || 'none',
    avx2: simd.includes('avx2'),
    avx512: simd.some((f) => f.startsWith('avx512')),
    vnni: simd.some((f) => f === 'avx512_vnni' || f.startsWith('avx_vnni')),
    onnxruntime_node: (require('onnxruntime-node/package.json') as { version: string }).version,
    node: process.version,
    load_average_at_start: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

/**
 * A line for the results when the machine was shared: wall-clock rates (and their ratios) then mean
 * little, while core-ms per image still hold. Null on a quiet machine or where load is not reported.
 */
export function contentionWarning(machine: MachineInfo): string | null {
  const load = Math.max(machine.load_average_at_start, os.loadavg()[0]);
  if (process.platform === 'win32' || load <= machine.cores) return null;
  return `load average reached ${load.toFixed(1)} on ${machine.cores} cores: other processes shared the CPUs, so wall-clock rates and ratios are unreliable; compare core-ms`;
}
