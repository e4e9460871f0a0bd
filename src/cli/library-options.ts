import fs from 'node:fs';
import { TriagemError } from '../engine/errors.js';
import { Library, type LibraryMode } from '../engine/library/library.js';
import { resolveLibraryPath } from '../engine/paths.js';

/**
 * Opens a library that must already exist: these commands never create an empty one by accident.
 * 'read' (search, similar, duplicates, tag list) changes nothing and works on read-only media.
 */
export function openExistingLibrary(flag: string | undefined, mode: LibraryMode = 'read'): Library {
  const file = resolveLibraryPath(flag);
  if (!fs.existsSync(file)) throw new TriagemError('no library here yet; run `triagem index <folder>` first', 'no-library', file);
  return Library.open(file, { mode });
}
