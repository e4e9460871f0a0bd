import fs from 'node:fs';
import { TriagemError } from '../engine/errors.js';
import { Library, isReadOnlyRefusal, type LibraryMode } from '../engine/library/library.js';
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

/**
 * Search brings a model's search codes up to date as it opens; a library opened for reading cannot
 * take them, which happens after an index run was stopped early or on images the app indexed and
 * never searched. Says what to do instead of SQLite's "attempt to write a readonly database".
 */
export function explainStaleSearchCodes(err: unknown, library: Library): unknown {
  if (library.mode !== 'read' || !isReadOnlyRefusal(err)) return err;
  return new TriagemError(
    "the library's search index is behind its images (an index run stopped early?), and searching only reads the library; run `triagem index` on the same folders once to bring it up to date",
    'search-codes-stale',
    library.file,
  );
}
