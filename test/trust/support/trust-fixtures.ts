// Shared pieces of the trust suite: generated photo trees, a small full disk (a real tmpfs, or an
// injected ENOSPC where mounting is impossible), child processes, and the figures file the closing
// note quotes (`.cache/trust-figures.json`).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Prng } from '../../support/synthetic/prng.js';
import { COLOUR_PALETTE } from '../../support/synthetic/colour-palette.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const CRASH_HOOK = fileURLToPath(new URL('./crash-hook.mjs', import.meta.url));
export const MOVE_CHILD = fileURLToPath(new URL('./move-child.ts', import.meta.url));

export function trustDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `triagem-trust-${prefix}-`));
}

export function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export function sample(name: string): readonly [number, number, number] {
  const entry = COLOUR_PALETTE.find((c) => c.name === name);
  if (!entry) throw new Error(`no palette colour ${name}`);
  return entry.sample;
}

/**
 * A JPEG of mostly one colour with strong seeded noise, so it is both sortable by the colour model
 * and large (noise barely compresses): about `kib` KiB.
 */
export async function noisyPhoto(file: string, colour: string, seed: number, kib = 40): Promise<Buffer> {
  const [r, g, b] = sample(colour);
  const side = Math.max(32, Math.round(Math.sqrt((kib * 1024) / 1.1)));
  const prng = new Prng(seed);
  const px = Buffer.alloc(side * side * 3);
  const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  for (let i = 0; i < side * side; i++) {
    px[i * 3] = clamp(r + (prng.next() - 0.5) * 60);
    px[i * 3 + 1] = clamp(g + (prng.next() - 0.5) * 60);
    px[i * 3 + 2] = clamp(b + (prng.next() - 0.5) * 60);
  }
  const data = await sharp(px, { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 97 }).toBuffer();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  return data;
}

/** Relative path → sha256 of every plain file below `root` (links not followed). */
export function hashTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) out.set(path.relative(root, full), sha256(full));
    }
  };
  if (fs.existsSync(root)) walk(root);
  return out;
}

/** How many times each sha256 occurs among the plain files below the roots. */
export function shaCounts(...roots: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const root of roots) for (const sha of hashTree(root).values()) counts.set(sha, (counts.get(sha) ?? 0) + 1);
  return counts;
}

// ---- figures for the closing note

const FIGURES = path.join(repoRoot, '.cache', 'trust-figures.json');

/** Adds to the suite's running figures (cases tried, crashes, files lost, connections…). */
export function recordFigures(section: string, figures: Record<string, number | string>): void {
  fs.mkdirSync(path.dirname(FIGURES), { recursive: true });
  let all: Record<string, Record<string, number | string>> = {};
  try {
    all = JSON.parse(fs.readFileSync(FIGURES, 'utf8')) as typeof all;
  } catch {
    // first entry
  }
  all[section] = { ...figures, at: new Date().toISOString() };
  fs.writeFileSync(FIGURES, `${JSON.stringify(all, null, 2)}\n`);
}

// ---- a small full disk

export interface SmallDisk {
  dir: string;
  /** 'tmpfs': a real file system of `bytes`; 'injected': writes under `dir` fail with ENOSPC past `bytes`. */
  mode: 'tmpfs' | 'injected';
  close(): Promise<void>;
}

/** A real tmpfs of `bytes` at a new folder; undefined where mounting is refused (not root, no CAP_SYS_ADMIN). */
export function mountTmpfs(bytes: number): SmallDisk | undefined {
  const dir = trustDir('tmpfs');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    mode: 'tmpfs',
    async close() {
      spawnSync('umount', ['-l', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function usedBelow(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else {
        try {
          total += fs.lstatSync(full).size;
        } catch {
          // removed meanwhile
        }
      }
    }
  };
  walk(dir);
  return total;
}

/**
 * Where a file system cannot be mounted: every write through Node's fs into `dir` beyond `bytes`
 * in total (what the files below it hold now) fails with ENOSPC, after writing what still fits,
 * as a full disk does. Covers FileHandle writes/writeFile/sync targets, fs.writeSync and
 * fs.writeFileSync, link() and mkdir() (a full directory table) once the budget is spent.
 */
export async function injectEnospc(bytes: number): Promise<SmallDisk> {
  const dir = trustDir('enospc');
  const inside = (p: string | undefined) => p !== undefined && (p === dir || p.startsWith(dir + path.sep));
  const fdPath = (fd: number) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return undefined;
    }
  };
  const enospc = (p: string) => Object.assign(new Error(`ENOSPC: no space left on device, write '${p}'`), { code: 'ENOSPC', errno: -28, syscall: 'write', path: p });
  const room = () => Math.max(0, bytes - usedBelow(dir));
  const restore: (() => void)[] = [];
  const swap = <T extends object>(obj: T, key: keyof T, make: (orig: (...a: unknown[]) => unknown) => (...a: unknown[]) => unknown) => {
    const original = obj[key] as unknown as (...a: unknown[]) => unknown;
    (obj as Record<keyof T, unknown>)[key] = make(original);
    restore.push(() => ((obj as Record<keyof T, unknown>)[key] = original));
  };
  const handlePaths = new WeakMap<object, string>();
  swap(fsp, 'open', (orig) => async function (this: unknown, ...a: unknown[]) {
    const h = (await orig.apply(this, a)) as object;
    handlePaths.set(h, path.resolve(String(a[0])));
    return h;
  });
  // FileHandle's prototype, from a handle opened once.
  const probe = await fsp.open(process.execPath, 'r');
  const proto = Object.getPrototypeOf(probe) as Record<string, (...a: unknown[]) => unknown>;
  await probe.close();
  {
    swap(proto, 'write', (orig) => async function (this: object, ...a: unknown[]) {
      const p = handlePaths.get(this);
      if (!inside(p)) return orig.apply(this, a);
      const buf = a[0];
      if (typeof buf === 'string') throw enospc(p!);
      const view = buf as Buffer;
      const offset = typeof a[1] === 'number' ? a[1] : 0;
      const length = typeof a[2] === 'number' ? a[2] : view.length - offset;
      const free = room();
      if (free === 0) throw enospc(p!);
      return orig.call(this, view, offset, Math.min(length, free), ...a.slice(3));
    });
    swap(proto, 'writeFile', (orig) => async function (this: object, ...a: unknown[]) {
      const p = handlePaths.get(this);
      if (!inside(p)) return orig.apply(this, a);
      const data = typeof a[0] === 'string' ? Buffer.from(a[0]) : (a[0] as Buffer);
      const free = room();
      if (data.length > free) {
        await orig.call(this, data.subarray(0, free));
        throw enospc(p!);
      }
      return orig.apply(this, a);
    });
  }
  swap(fs, 'writeSync', (orig) => function (this: unknown, ...a: unknown[]) {
    const p = fdPath(a[0] as number);
    if (!inside(p)) return orig.apply(this, a);
    const data = typeof a[1] === 'string' ? Buffer.from(a[1]) : (a[1] as Buffer);
    const free = room();
    if (free === 0) throw enospc(p!);
    if (typeof a[1] === 'string' || data.length <= free) return orig.apply(this, a);
    return orig.call(this, a[0], data.subarray(0, free));
  });
  swap(fs, 'writeFileSync', (orig) => function (this: unknown, ...a: unknown[]) {
    const p = typeof a[0] === 'string' ? path.resolve(a[0]) : undefined;
    if (!inside(p)) return orig.apply(this, a);
    const data = typeof a[1] === 'string' ? Buffer.from(a[1]) : (a[1] as Buffer);
    const free = room();
    if (data.length > free) {
      orig.call(this, a[0], data.subarray(0, free), a[2]);
      throw enospc(p!);
    }
    return orig.apply(this, a);
  });
  swap(fsp, 'mkdir', (orig) => async function (this: unknown, ...a: unknown[]) {
    if (inside(path.resolve(String(a[0]))) && room() === 0) throw enospc(String(a[0]));
    return orig.apply(this, a);
  });
  return {
    dir,
    mode: 'injected',
    async close() {
      for (const r of restore.reverse()) r();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the disk at `dir` to the last byte (for "undo on a full disk"); returns the filler's path. */
export function fillUp(dir: string): string {
  const filler = path.join(dir, 'filler.bin');
  const fd = fs.openSync(filler, 'w');
  const block = Buffer.alloc(4096, 0x55);
  try {
    for (;;) {
      try {
        if (fs.writeSync(fd, block) === 0) break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    // Byte by byte for the last partial block.
    for (;;) {
      try {
        if (fs.writeSync(fd, block, 0, 1) === 0) break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

// ---- child processes

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <args>` from the repository root and waits for it (signal set when it was killed). */
export function runNode(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
