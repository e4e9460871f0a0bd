import fs from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import path from 'node:path';
import { extensionOf, readErrorReason } from '../images/formats.js';

export interface ScannedFile {
  path: string;
  folder: string;
  name: string;
  ext: string;
  size: number;
  /** Whole milliseconds, as stored in the library. */
  mtimeMs: number;
}

export interface ScanFailure {
  path: string;
  error: string;
}

export interface ScanWarning {
  path: string;
  warning: string;
}

export interface ScanResult {
  files: ScannedFile[];
  failures: ScanFailure[];
  /** Symbolic links skipped because they lead out of the folders being scanned. */
  warnings: ScanWarning[];
}

export interface ScanOptions {
  /** Absolute paths never entered or listed (the library's own files and thumbnail cache). */
  exclude?: readonly string[];
  signal?: AbortSignal;
  onProgress?: (found: number) => void;
}

// Stat calls per folder in flight at once: enough to hide disk latency, few enough not to flood
// libuv's pool (which decoding shares).
const STAT_CONCURRENCY = 32;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function scanned(filePath: string, st: Stats): ScannedFile {
  const name = path.basename(filePath);
  return { path: filePath, folder: path.dirname(filePath), name, ext: extensionOf(name), size: st.size, mtimeMs: Math.trunc(st.mtimeMs) };
}

function identity(st: Stats): string {
  return `${st.dev}:${st.ino}`;
}

function isInside(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * Every regular file under the roots (a root may also be a single file). Hidden entries (".git",
 * ".DS_Store", "._IMG_1.JPG" AppleDouble files) are skipped.
 *
 * Symbolic links: the user chose these folders, and a scraped archive can hold a link to anywhere
 * (`pasta -> ~/privado`, `casa -> ~`). A link is followed only when its real target lies inside one
 * of the roots (by real path); a link leading out is skipped and reported in `warnings`, so nothing
 * from outside the chosen folders is indexed, sorted, copied or moved. Each real folder is entered
 * once, so link loops and aliases cannot repeat or hang the scan. A root given as a link is the
 * user's own choice and is followed.
 */
export async function scanFolders(roots: readonly string[], opts: ScanOptions = {}): Promise<ScanResult> {
  const exclude = new Set((opts.exclude ?? []).map((p) => path.resolve(p)));
  // Also by identity, so an excluded folder reached through a link (under another path) stays out.
  const excludeIds = new Set<string>();
  for (const p of exclude) {
    try {
      excludeIds.add(identity(await fs.stat(p)));
    } catch {
      // not there (yet): nothing to exclude by identity
    }
  }
  const visited = new Set<string>();
  const files = new Map<string, ScannedFile>();
  const failures: ScanFailure[] = [];
  const stack: string[] = [];
  // Folders reached through links are walked after everything reachable without them, so a file
  // keeps its real path when it is also reachable through an alias.
  let linked: string[] = [];

  const rootDirs: string[] = [];
  const realRoots: string[] = [];
  const warnings: ScanWarning[] = [];
  for (const root of roots) {
    const abs = path.resolve(root);
    const st = await fs.stat(abs);
    if (st.isDirectory()) {
      rootDirs.push(abs);
      realRoots.push(await fs.realpath(abs));
    } else if (st.isFile()) files.set(abs, scanned(abs, st));
  }
  stack.push(...rootDirs.reverse());

  for (;;) {
    if (stack.length === 0) {
      if (linked.length === 0) break;
      stack.push(...linked.reverse());
      linked = [];
    }
    if (opts.signal?.aborted) break;
    const dir = stack.pop()!;
    let entries: Dirent[];
    try {
      const dirStat = await fs.stat(dir);
      const id = identity(dirStat);
      if (visited.has(id) || excludeIds.has(id)) continue;
      visited.add(id);
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      failures.push({ path: dir, error: `cannot read folder: ${readErrorReason(err)}` });
      continue;
    }
    const candidates = entries.filter((e) => !e.name.startsWith('.') && !exclude.has(path.join(dir, e.name)));
    const stats = await mapLimit(candidates, STAT_CONCURRENCY, async (entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return { full, kind: 'dir' as const };
      if (!entry.isFile() && !entry.isSymbolicLink()) return { full, kind: 'other' as const };
      try {
        if (entry.isSymbolicLink()) {
          const target = await fs.realpath(full);
          if (!realRoots.some((r) => isInside(target, r))) return { full, kind: 'outside' as const, target };
        }
        const st = await fs.stat(full);
        if (st.isDirectory()) return { full, kind: 'linked-dir' as const };
        if (!st.isFile() || excludeIds.has(identity(st))) return { full, kind: 'other' as const };
        return { full, kind: 'file' as const, st };
      } catch (err) {
        // A dangling link is not a file the user has; anything else they should hear about.
        if (entry.isSymbolicLink() && (err as NodeJS.ErrnoException).code === 'ENOENT') return { full, kind: 'other' as const };
        return { full, kind: 'error' as const, error: readErrorReason(err) };
      }
    });
    const subdirs: string[] = [];
    for (const s of stats) {
      if (s.kind === 'dir') subdirs.push(s.full);
      else if (s.kind === 'linked-dir') linked.push(s.full);
      else if (s.kind === 'file') files.set(s.full, scanned(s.full, s.st));
      else if (s.kind === 'error') failures.push({ path: s.full, error: s.error });
      else if (s.kind === 'outside') {
        warnings.push({ path: s.full, warning: `symbolic link to ${s.target}, outside the folders being indexed; not followed` });
      }
    }
    // Reverse so the stack pops folders in name order, which keeps indexing order predictable.
    subdirs.sort().reverse();
    stack.push(...subdirs);
    opts.onProgress?.(files.size);
  }
  const list = [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files: list, failures, warnings };
}
