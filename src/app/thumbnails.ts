// Thumbnails for the grid: from the library's cache, made on demand from any copy still on disk.

import fs from 'node:fs';
import path from 'node:path';
import { TriagemError } from '../engine/errors.js';
import { ensureThumbnail, thumbnailExists } from '../engine/images/thumbnail.js';
import type { AppContext } from './context.js';

const THUMB_MIME = { '.webp': 'image/webp', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png' } as const;
export type ThumbnailMime = (typeof THUMB_MIME)[keyof typeof THUMB_MIME];

export interface Thumbnail {
  contentId: number;
  sha256: string;
  path: string;
  mime: ThumbnailMime;
}

export async function thumbnail(app: AppContext, ref: { contentId?: number; sha256?: string }): Promise<Thumbnail> {
  const library = app.library('read');
  const content = library.content(ref.contentId !== undefined ? { id: ref.contentId } : { sha256: ref.sha256 ?? '' });
  if (!content) throw new TriagemError('no image with that id in the library', 'not-found');
  let file = library.thumbnailPath(content.sha256);
  if (!(await thumbnailExists(file))) {
    // Indexed with thumbnails off, or the cache was deleted: make it from any copy still on disk.
    const source = library.firstPresentPath(content.id);
    if (!source) throw new TriagemError('no copy of this image is left on disk to make a thumbnail from', 'not-found');
    file = await ensureThumbnail(file, source);
  }
  const ext = path.extname(file).toLowerCase();
  const mime = ext in THUMB_MIME ? THUMB_MIME[ext as keyof typeof THUMB_MIME] : 'image/webp';
  return { contentId: content.id, sha256: content.sha256, path: file, mime };
}

export async function thumbnailBytes(thumb: Thumbnail): Promise<Buffer> {
  return fs.promises.readFile(thumb.path);
}
