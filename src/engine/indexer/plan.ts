import fs from 'node:fs/promises';
import path from 'node:path';
import { TriagemError } from '../errors.js';
import { readErrorReason } from '../images/formats.js';
import type { Library } from '../library/library.js';
import { isInside } from '../util/fs.js';
import { scanFolders, type ScanFailure, type ScannedFile } from './scan.js';
import type { IndexStore, KnownFile } from './store.js';
import type { WorkItem } from './types.js';

/** The folders to index, absolute and without repeats; a missing one is an error naming it. */
export async function resolveRoots(folders: readonly string[]): Promise<string[]> {
  if (folders.length === 0) throw new TriagemError('no folder to index', 'usage');
  const roots: string[] = [];
  for (const folder of folders) {
    const abs = path.resolve(folder);
    try {
      await fs.stat(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new TriagemError(code === 'ENOENT' ? 'folder not found' : readErrorReason(err), 'not-found', abs);
    }
    if (!roots.includes(abs)) roots.push(abs);
  }
  return roots;
}

export interface Triage {
  /** New or changed files, in scan order. */
  work: WorkItem[];
  /** Files with the size and mtime the library has, and an embedding for this model. */
  unchanged: number;
  /** Row ids of unchanged files that were marked absent and are back. */
  revive: number[];
  /** Row ids of present files under the roots that the scan no longer found. */
  gone: number[];
}

/**
 * Sorts scanned files against what the library knows, by path: same size and mtime with an
 * embedding for this model → unchanged; anything else → work. Moved or duplicate content is not
 * decided here: it needs the bytes' hash, which the read stage computes.
 */
export function triage(
  files: readonly ScannedFile[],
  known: ReadonlyMap<string, KnownFile>,
  embedded: ReadonlySet<number>,
  excluded: readonly string[] = [],
): Triage {
  const work: WorkItem[] = [];
  const seen = new Set<string>();
  const revive: number[] = [];
  let unchanged = 0;
  for (const file of files) {
    seen.add(file.path);
    const previous = known.get(file.path);
    if (previous && previous.size === file.size && previous.mtimeMs === file.mtimeMs && embedded.has(previous.contentId)) {
      unchanged++;
      if (!previous.present) revive.push(previous.id);
      continue;
    }
    work.push({ file, previous });
  }
  // An excluded folder was not scanned, so its files are not gone: they are just not looked at.
  const gone = [...known.values()].filter((k) => k.present && !seen.has(k.path) && !excluded.some((x) => isInside(k.path, x))).map((k) => k.id);
  return { work, unchanged, revive, gone };
}

export interface PlanInput {
  library: Library;
  store: IndexStore;
  roots: readonly string[];
  /** The model's key in the library. */
  key: string;
  /** Absolute paths the user left out. */
  excluded: readonly string[];
  signal?: AbortSignal;
  onScanProgress?: (found: number) => void;
}

export interface IndexPlan {
  work: WorkItem[];
  /** Every file the scan found. */
  total: number;
  unchanged: number;
  /** Set unless the scan was cut short. */
  missing?: number;
  /** Folders and files the scan could not read. */
  scanFailures: ScanFailure[];
  /** Links leading out of the folders, not followed. */
  scanWarnings: { path: string; warning: string }[];
  /** Content ids with an embedding for the model, as of the end of the scan. */
  embedded: Set<number>;
}

/**
 * Plan stage: scan the roots, compare with the library, and bring presence up to date (files gone
 * are marked absent, returning ones present again), so the library is right even before any
 * image is read. Failures recorded for files that are gone, or candidates again, are dropped.
 */
export async function planIndex(input: PlanInput): Promise<IndexPlan> {
  const { library, store, roots, excluded, signal } = input;
  const libraryFiles = [library.file, `${library.file}-wal`, `${library.file}-shm`, `${library.file}-journal`, library.thumbnailsDir];
  const scan = await scanFolders(roots, { exclude: [...libraryFiles, ...excluded], signal, onProgress: input.onScanProgress });
  const embedded = library.embeddedContentIds(input.key);
  const known = store.knownFilesUnder(roots);
  const { work, unchanged, revive, gone } = triage(scan.files, known, embedded, excluded);
  let missing: number | undefined;
  // A scan cut short by the signal has not seen everything, so it cannot say what disappeared.
  if (!signal?.aborted) {
    store.setPresent(gone, false);
    missing = gone.length;
  }
  store.setPresent(revive, true);
  store.pruneFailures(roots, new Set(work.map((w) => w.file.path).concat(scan.failures.map((f) => f.path))));
  return { work, total: scan.files.length, unchanged, missing, scanFailures: scan.failures, scanWarnings: scan.warnings, embedded };
}
