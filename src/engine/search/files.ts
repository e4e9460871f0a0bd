// Contents → the files that hold them, for presenting results.

import type { FileRecord, Library } from '../library/library.js';
import { fileFilter, type SearchFilters } from './filters.js';

/** Present files of each content that pass the file-level filters, sorted by path. */
export function filesForContents(library: Library, contentIds: readonly number[], filters?: SearchFilters): Map<number, FileRecord[]> {
  return library.filesOfContents(contentIds, fileFilter(filters));
}

/** Every present file, grouped by content (only contents with at least `minFiles` files). */
export function contentsWithManyFiles(library: Library, minFiles: number): Map<number, FileRecord[]> {
  return library.contentsWithManyFiles(minFiles);
}
