// Contents → the files that hold them, for presenting results.

import type { FileRecord, Library } from '../library/library.js';
import { fileClause, type SearchFilters } from './filters.js';

const CHUNK = 500;

/** Present files of each content that pass the file-level filters, sorted by path. */
export function filesForContents(library: Library, contentIds: readonly number[], filters?: SearchFilters): Map<number, FileRecord[]> {
  const out = new Map<number, FileRecord[]>();
  const clause = fileClause(filters);
  for (let i = 0; i < contentIds.length; i += CHUNK) {
    const ids = contentIds.slice(i, i + CHUNK);
    const condition = `f.content_id IN (${ids.map(() => '?').join(',')}) AND ${clause.where}`;
    for (const rec of library.filesWhere(condition, [...ids, ...clause.params])) {
      const list = out.get(rec.contentId);
      if (list) list.push(rec);
      else out.set(rec.contentId, [rec]);
    }
  }
  return out;
}

/** Every present file, grouped by content (only contents with at least `minFiles` files). */
export function contentsWithManyFiles(library: Library, minFiles: number): Map<number, FileRecord[]> {
  const out = new Map<number, FileRecord[]>();
  const condition = `f.present = 1 AND f.content_id IN
    (SELECT content_id FROM files WHERE present = 1 GROUP BY content_id HAVING count(*) >= ?)`;
  for (const rec of library.filesWhere(condition, [minFiles])) {
    const list = out.get(rec.contentId);
    if (list) list.push(rec);
    else out.set(rec.contentId, [rec]);
  }
  return out;
}
