import fs from 'node:fs';
import { TriagemError } from '../engine/errors.js';
import { Library } from '../engine/library/library.js';
import { resolveLibraryPath } from '../engine/paths.js';

/** Opens a library that must already exist: reading commands never create an empty one by accident. */
export function openExistingLibrary(flag: string | undefined): Library {
  const file = resolveLibraryPath(flag);
  if (!fs.existsSync(file)) throw new TriagemError('no library here yet; run `triagem index <folder>` first', 'no-library', file);
  return Library.open(file);
}
