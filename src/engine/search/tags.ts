// Tags: words a person attaches to images so searches can be narrowed to them. A tag belongs to the
// content (sha256), so every copy of a photo carries it and renaming a file keeps it.

import path from 'node:path';
import { TriagemError } from '../errors.js';
import type { FileRecord, Library } from '../library/library.js';
import { filesForContents } from './files.js';
import { normalizeTag } from './filters.js';

export interface TagChange {
  /** Files whose content gained (or lost) the tag. */
  changed: string[];
  /** Files whose content already had (or did not have) it. */
  unchanged: string[];
  failed: { path: string; error: string }[];
}

function checkTag(tag: string): string {
  const t = normalizeTag(tag);
  if (!t) throw new TriagemError('tag is empty', 'bad-tag');
  if (t.length > 200) throw new TriagemError('tag is longer than 200 characters', 'bad-tag');
  return t;
}

function change(library: Library, tag: string, paths: readonly string[], apply: (contentId: number, tag: string) => boolean): TagChange {
  const t = checkTag(tag);
  const out: TagChange = { changed: [], unchanged: [], failed: [] };
  library.transaction(() => {
    for (const p of paths) {
      const abs = path.resolve(p);
      const file = library.fileByPath(abs);
      if (!file) {
        out.failed.push({ path: abs, error: 'not in the library; run `triagem index` on its folder first' });
        continue;
      }
      (apply(file.contentId, t) ? out.changed : out.unchanged).push(abs);
    }
  });
  return out;
}

export function addTag(library: Library, tag: string, paths: readonly string[]): TagChange {
  return change(library, tag, paths, (id, t) => library.tagContent(id, t));
}

export function removeTag(library: Library, tag: string, paths: readonly string[]): TagChange {
  return change(library, tag, paths, (id, t) => library.untagContent(id, t));
}

/** Every tag with how many contents carry it. */
export function listTags(library: Library): { tag: string; contents: number }[] {
  return library.listTags();
}

/** Present files whose content carries `tag`. */
export function filesWithTag(library: Library, tag: string): FileRecord[] {
  const ids = library.contentIdsWithTag(checkTag(tag));
  const byContent = filesForContents(library, ids);
  return [...byContent.values()].flat().sort((a, b) => a.path.localeCompare(b.path));
}
