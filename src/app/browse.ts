// Browsing the library: the grid's ordered file ids and tiles, one file's details, the filter menus
// and loupe previews. All read-only.

import path from 'node:path';
import { TriagemError } from '../engine/errors.js';
import { ensurePreview } from '../engine/images/preview.js';
import { thumbnailExists } from '../engine/images/thumbnail.js';
import type { BrowseItem, BrowseQuery } from '../engine/library/browse.js';
import type { FileRecord, Library } from '../engine/library/library.js';
import type { Flag } from '../engine/library/review.js';
import type { AppContext } from './context.js';
import { imageTextRecord, type ImageTextRecord } from './ocr.js';

export type { BrowseItem, BrowseQuery };

/** The sort run a view reads when it names none: the latest. */
export function currentRunId(library: Library, runId?: number): number | undefined {
  return runId ?? library.latestSortRunId();
}

export function queryFiles(app: AppContext, query: BrowseQuery): number[] {
  if (!app.libraryExists()) return [];
  const library = app.library('read');
  const runId = query.label !== undefined || query.finalLabel !== undefined || query.sort === 'score' ? currentRunId(library, query.runId) : query.runId;
  if ((query.label !== undefined || query.finalLabel !== undefined) && runId === undefined) return [];
  return library.browse.fileIds({ ...query, runId });
}

/** A tile: the library's browse item, plus the damage warning of its bytes when decoding gave one. */
export type TileItem = BrowseItem & { warning?: string };

export function fileItems(app: AppContext, fileIds: readonly number[], runId?: number): TileItem[] {
  if (!app.libraryExists() || fileIds.length === 0) return [];
  const library = app.library('read');
  const items = library.browse.items(fileIds, currentRunId(library, runId));
  const warnings = library.warnings.forContents([...new Set(items.map((i) => i.contentId))]);
  return items.map((i) => {
    const warning = warnings.get(i.contentId);
    return warning === undefined ? i : { ...i, warning };
  });
}

export interface FileDetails {
  file: FileRecord;
  /** Other present files with the same bytes. */
  copies: string[];
  tags: string[];
  mark: { label: string | null; flag: Flag | null } | null;
  suggestion: BrowseItem['suggestion'];
  duplicate: BrowseItem['duplicate'];
  present: boolean;
  /** What reading the text inside the image gave; null when it has not been read. */
  ocr: ImageTextRecord | null;
  /** Decoding found the image damaged (indexed anyway); null when it decoded cleanly. */
  warning: string | null;
}

export function fileDetails(app: AppContext, fileId: number, runId?: number): FileDetails {
  const library = app.library('read');
  const file = library.filesByIds([fileId])[0];
  if (!file) throw new TriagemError(`no file with id ${fileId} in the library`, 'not-found');
  const [item] = library.browse.items([fileId], currentRunId(library, runId));
  const copies = library.presentFilesByContent(file.contentId).map((f) => f.path).filter((p) => p !== file.path);
  const present = library.filesByIds([fileId], { present: true }).length === 1;
  return {
    file,
    copies,
    tags: item?.tags ?? [],
    mark: item?.mark ?? null,
    suggestion: item?.suggestion ?? null,
    duplicate: item?.duplicate ?? null,
    present,
    ocr: imageTextRecord(library, file.contentId),
    warning: library.warnings.get(file.contentId)?.warning ?? null,
  };
}

export function facets(app: AppContext): { cameras: string[]; folders: { folder: string; files: number }[] } {
  if (!app.libraryExists()) return { cameras: [], folders: [] };
  return app.library('read').browse.facets();
}

export interface Preview {
  contentId: number;
  sha256: string;
  path: string;
  mime: 'image/webp';
}

function previewPath(library: Library, sha256: string): string {
  return path.join(path.dirname(library.file), `${path.basename(library.file)}.previews`, sha256.slice(0, 2), `${sha256}.webp`);
}

/** The loupe image of a content: cached, else made from the first copy still on disk. */
export async function preview(app: AppContext, ref: { contentId?: number; sha256?: string }): Promise<Preview> {
  const library = app.library('read');
  const content =
    ref.contentId !== undefined ? library.content({ id: ref.contentId }) : ref.sha256 !== undefined ? library.content({ sha256: ref.sha256 }) : undefined;
  if (!content) throw new TriagemError('no image with that id in the library', 'not-found');
  const target = previewPath(library, content.sha256);
  const source = library.presentFilesByContent(content.id)[0]?.path;
  if (!source) {
    // Every copy is gone; an earlier preview may still be cached.
    if (!(await thumbnailExists(target))) throw new TriagemError('no copy of this image is left on disk to make a preview from', 'not-found');
    return { contentId: content.id, sha256: content.sha256, path: target, mime: 'image/webp' };
  }
  return { contentId: content.id, sha256: content.sha256, path: await ensurePreview(target, source), mime: 'image/webp' };
}
