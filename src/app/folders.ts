// The folder picker of browser mode (a web page cannot open the system's dialog and learn a path):
// one folder's subfolders and images, plus places to start from.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TriagemError, errorMessage } from '../engine/errors.js';
import { extensionOf, isImageExtension } from '../engine/images/formats.js';

export type EntryKind = 'folder' | 'image' | 'library' | 'file';

export interface FolderListing {
  path: string;
  parent: string | null;
  entries: { name: string; path: string; kind: EntryKind }[];
  /** More entries than were listed. */
  truncated: boolean;
  home: string;
  roots: { name: string; path: string }[];
}

/** Enough for any real folder; a 200k-file dump is listed partly, folders first. */
const MAX_ENTRIES = 5000;

const LIBRARY_EXTS = new Set(['sqlite', 'db', 'triagem']);

function kindOf(name: string, isDir: boolean): EntryKind {
  if (isDir) return 'folder';
  const ext = extensionOf(name);
  if (isImageExtension(ext)) return 'image';
  if (LIBRARY_EXTS.has(ext)) return 'library';
  return 'file';
}

async function roots(home: string): Promise<{ name: string; path: string }[]> {
  const out = [{ name: '~', path: home }];
  if (process.platform === 'win32') {
    for (const letter of 'CDEFGHIJ') {
      const drive = `${letter}:\\`;
      if (await fs.stat(drive).then(() => true, () => false)) out.push({ name: `${letter}:`, path: drive });
    }
    return out;
  }
  out.push({ name: '/', path: '/' });
  // Removable drives, where reporters' material often arrives.
  for (const base of ['/media', '/mnt', '/Volumes', `/run/media/${os.userInfo().username}`]) {
    const names = await fs.readdir(base).catch(() => [] as string[]);
    for (const n of names) if (!n.startsWith('.')) out.push({ name: n, path: path.join(base, n) });
  }
  return out;
}

export async function listFolder(folder: string | undefined, opts: { showHidden?: boolean } = {}): Promise<FolderListing> {
  const home = os.homedir();
  const dir = path.resolve(folder ?? home);
  let dirents;
  try {
    dirents = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TriagemError('folder not found', 'not-found', dir);
    if (code === 'ENOTDIR') throw new TriagemError('is not a folder', 'not-a-folder', dir);
    throw new TriagemError(`cannot open the folder: ${errorMessage(err)}`, 'unreadable', dir);
  }
  const entries: FolderListing['entries'] = [];
  for (const d of dirents) {
    if (!opts.showHidden && d.name.startsWith('.')) continue;
    let isDir = d.isDirectory();
    if (d.isSymbolicLink()) isDir = await fs.stat(path.join(dir, d.name)).then((s) => s.isDirectory(), () => false);
    entries.push({ name: d.name, path: path.join(dir, d.name), kind: kindOf(d.name, isDir) });
  }
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  entries.sort((a, b) => (a.kind === 'folder') !== (b.kind === 'folder') ? (a.kind === 'folder' ? -1 : 1) : collator.compare(a.name, b.name));
  const parent = path.dirname(dir);
  return {
    path: dir,
    parent: parent === dir ? null : parent,
    entries: entries.slice(0, MAX_ENTRIES),
    truncated: entries.length > MAX_ENTRIES,
    home,
    roots: await roots(home),
  };
}
