// Tag use cases: a person's words on images, for narrowing searches and exports.

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
