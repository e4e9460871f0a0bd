// Tag use cases: a person's words on images, for narrowing searches and exports.

import { TriagemError } from '../engine/errors.js';
import { addTag, filesWithTag, listTags, removeTag, type TagChange } from '../engine/search/tags.js';
import type { FileRecord } from '../engine/library/library.js';
import type { AppContext } from './context.js';

export type { TagChange };

export function tagFiles(app: AppContext, action: 'add' | 'remove', tag: string, paths: readonly string[]): TagChange {
  const library = app.library('write');
  return action === 'add' ? addTag(library, tag, paths) : removeTag(library, tag, paths);
}

export function tagList(app: AppContext): { tag: string; contents: number }[] {
  return listTags(app.library('read'));
}

export function taggedFiles(app: AppContext, tag: string): FileRecord[] {
  return filesWithTag(app.library('read'), tag);
}

/** Tags files named by their library ids (the grid's selection). */
export function tagFileIds(app: AppContext, action: 'add' | 'remove', tag: string, fileIds: readonly number[]): TagChange {
  const library = app.library('write');
  const paths: string[] = [];
  for (let i = 0; i < fileIds.length; i += 500) {
    const part = fileIds.slice(i, i + 500);
    paths.push(...library.filesByIds(part).map((f) => f.path));
  }
  if (paths.length === 0) throw new TriagemError('none of these files is in the library', 'not-found');
  return tagFiles(app, action, tag, paths);
}
