import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';
import { exists, isErrno } from '../util/fs.js';
import { MODEL_ID_PATTERN, type CatalogEntry } from './catalog.js';
import type { ModelManifest } from './manifest.js';
import type { ConcretePrecision } from './types.js';

/** What a download or an import installed. */
export interface InstallResult {
  id: string;
  dir: string;
  precisions: ConcretePrecision[];
  /** Nothing was fetched: the requested precision was already installed. */
  alreadyInstalled: boolean;
  /** Bytes fetched over the network in this run. */
  bytesDownloaded: number;
  manifest: ModelManifest;
}

const STAGING = '.staging';
const DOWNLOADS = '.downloads';

function randomSuffix(): string {
  return crypto.randomBytes(4).toString('hex');
}

/** Folder name → model id: lowercase ASCII, accents dropped, anything else becomes "-". */
export function slugifyId(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-._]+|[-._]+$/g, '')
    .slice(0, 64)
    .replace(/[-._]+$/g, '');
}

/** Model ids become folder names, so anything else is refused before it touches the disk. */
export function checkId(id: string): void {
  if (!MODEL_ID_PATTERN.test(id)) {
    throw new TriagemError(`invalid model id "${id}": use lowercase letters, digits, ".", "_" or "-" (at most 64, not starting with a symbol)`, 'bad-id');
  }
}

/** Hard link when the file system allows (instant, no extra space), else a copy. */
export async function linkOrCopy(src: string, dest: string): Promise<void> {
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  try {
    await fsp.link(src, dest);
  } catch {
    await fsp.copyFile(src, dest);
  }
}

/** Bottom-up removal of empty folders left after deleting part files; non-empty ones stay. */
export async function removeEmptyDirs(dir: string): Promise<void> {
  let entries: fs.Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await removeEmptyDirs(path.join(dir, e.name));
  try {
    await fsp.rmdir(dir);
  } catch {
    // Still holds files: kept.
  }
}

/**
 * The models folder as an install target. Every install is assembled in `<modelsDir>/.staging/` and
 * renamed into place only once complete and validated, so a model folder is either whole or absent;
 * partial downloads wait in `<modelsDir>/.downloads/` for the next run to resume them.
 */
export class InstallArea {
  constructor(readonly modelsDir: string) {}

  get stagingRoot(): string {
    return path.join(this.modelsDir, STAGING);
  }

  get downloadsRoot(): string {
    return path.join(this.modelsDir, DOWNLOADS);
  }

  modelDir(id: string): string {
    return path.join(this.modelsDir, id);
  }

  /** Where one catalog revision's files are fetched before they are staged. */
  downloadCacheDir(entry: CatalogEntry): string {
    return path.join(this.downloadsRoot, `${entry.id}-${entry.revision.slice(0, 12)}`);
  }

  /** A fresh, empty staging folder for `id`. */
  async makeStaging(id: string): Promise<string> {
    await fsp.mkdir(this.stagingRoot, { recursive: true });
    const dir = path.join(this.stagingRoot, `${id}-${randomSuffix()}`);
    await fsp.mkdir(dir);
    return dir;
  }

  /**
   * Moves a complete staged folder into place; an existing model is replaced only when `replace`.
   * The old folder is renamed aside first and put back if the swap fails, so there is always a
   * whole model at `target` or none.
   */
  async swapIn(staged: string, target: string, replace: boolean): Promise<void> {
    const id = path.basename(target);
    if (await exists(target)) {
      if (!replace) throw new TriagemError(`a model "${id}" is already installed`, 'exists', target);
      const aside = path.join(this.stagingRoot, `${id}-old-${randomSuffix()}`);
      try {
        await fsp.rename(target, aside);
      } catch (err) {
        throw new TriagemError(`cannot replace the installed model: ${errorMessage(err)}`, 'unremovable', target);
      }
      try {
        await fsp.rename(staged, target);
      } catch (err) {
        await fsp.rename(aside, target).catch(() => undefined);
        throw new TriagemError(`cannot install: ${errorMessage(err)}`, 'install-failed', target);
      }
      await fsp.rm(aside, { recursive: true, force: true });
      return;
    }
    try {
      await fsp.rename(staged, target);
    } catch (err) {
      if (isErrno(err, 'EEXIST', 'ENOTEMPTY')) throw new TriagemError(`a model "${id}" is already installed`, 'exists', target);
      throw new TriagemError(`cannot install: ${errorMessage(err)}`, 'install-failed', target);
    }
  }

  /** Removes an installed folder: renamed aside first so the model vanishes at once, even if deleting its files takes a while. */
  async removeInstalled(id: string, dir: string): Promise<void> {
    await fsp.mkdir(this.stagingRoot, { recursive: true });
    const aside = path.join(this.stagingRoot, `${id}-removing-${randomSuffix()}`);
    try {
      await fsp.rename(dir, aside);
    } catch (err) {
      const inUse = isErrno(err, 'EBUSY', 'EPERM', 'EACCES');
      throw new TriagemError(inUse ? 'cannot remove: the model is in use or not writable' : `cannot remove: ${errorMessage(err)}`, 'unremovable', dir);
    }
    await fsp.rm(aside, { recursive: true, force: true });
  }

  /** Drops empty bookkeeping folders so a models folder holds nothing but models after a failure. */
  async tidy(): Promise<void> {
    for (const dir of [this.stagingRoot, this.downloadsRoot]) {
      try {
        await fsp.rmdir(dir);
      } catch {
        // Not empty (another install, a lock, or a partial download kept for resuming) or already gone.
      }
    }
  }
}
