// Search filters: what a search may return. Turned into the library's filters here; the SQL lives
// in library/.
//
// File-level filters (folder, type, capture date, camera) select files; content-level filters (tag,
// sort label) select contents. A content qualifies when one of its present files passes the
// file-level filters and the content passes the content-level ones; results list only those files.

import { TriagemError } from '../errors.js';
import type { ContentFilter, FileFilter, Library } from '../library/library.js';
import { UNSURE_LABEL } from '../sort/labels.js';

export interface SearchFilters {
  /** Files inside any of these folders, at any depth. */
  folders?: string[];
  /** File types: extensions without the dot, any case ("jpg" also matches "jpeg", "tif" "tiff"). */
  exts?: string[];
  /** Capture time (EXIF, ms since epoch), inclusive. Files without a capture time are left out. */
  takenAfter?: number;
  takenBefore?: number;
  /** Camera model, case-insensitive substring. */
  camera?: string;
  /** Contents carrying every one of these tags. */
  tags?: string[];
  /** Contents a sort run put under this label. */
  label?: string;
  /** The sort run for `label`; default: the latest run that has that label. */
  sortRun?: number;
}

const EXT_ALIASES: Record<string, string[]> = {
  jpg: ['jpg', 'jpeg', 'jpe'],
  jpeg: ['jpg', 'jpeg', 'jpe'],
  jpe: ['jpg', 'jpeg', 'jpe'],
  tif: ['tif', 'tiff'],
  tiff: ['tif', 'tiff'],
  heic: ['heic', 'heif'],
  heif: ['heic', 'heif'],
};

export function normalizeExts(exts: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of exts) {
    const e = raw.trim().replace(/^\./, '').toLowerCase();
    if (!e) continue;
    for (const alias of EXT_ALIASES[e] ?? [e]) out.add(alias);
  }
  return [...out];
}

export function hasFilters(f: SearchFilters | undefined): boolean {
  if (!f) return false;
  return Boolean(
    f.folders?.length || f.exts?.length || f.takenAfter !== undefined || f.takenBefore !== undefined || f.camera || f.tags?.length || f.label !== undefined,
  );
}

function sameLabel(a: string, b: string): boolean {
  return a.normalize('NFC').trim().toLocaleLowerCase() === b.normalize('NFC').trim().toLocaleLowerCase();
}

/** The sort run whose results a label filter reads. */
export function resolveSortRun(library: Library, label: string, runId?: number): number {
  let runs;
  if (runId !== undefined) {
    const run = library.sortRun(runId);
    if (!run) throw new TriagemError(`there is no sort run ${runId} in this library`, 'unknown-sort-run', library.file);
    runs = [run];
  } else {
    runs = library.listSortRuns();
  }
  for (const run of runs) {
    // A run whose labels cannot be read is skipped, not matched on `unsure` alone.
    if (run.labels.length === 0) continue;
    if ([...run.labels, UNSURE_LABEL].some((l) => sameLabel(l, label))) return run.id;
  }
  throw new TriagemError(
    runId !== undefined ? `sort run ${runId} has no label "${label}"` : `no sort run in this library has the label "${label}"; run \`triagem sort\` first`,
    'unknown-label',
    library.file,
  );
}

/** The file-level filters, as the library's filter over present files. */
export function fileFilter(filters: SearchFilters | undefined): FileFilter {
  return {
    present: true,
    folders: filters?.folders,
    exts: filters?.exts?.length ? normalizeExts(filters.exts) : undefined,
    takenAfter: filters?.takenAfter,
    takenBefore: filters?.takenBefore,
    camera: filters?.camera || undefined,
  };
}

/** Every filter, with a label resolved to its sort run and to the label as that run stored it. */
export function contentFilter(library: Library, filters: SearchFilters): ContentFilter {
  const out: ContentFilter = { ...fileFilter(filters), tags: filters.tags?.map(normalizeTag) };
  if (filters.label !== undefined) {
    const runId = resolveSortRun(library, filters.label, filters.sortRun);
    const label = library.sortResultLabels(runId).find((l) => sameLabel(l, filters.label!)) ?? filters.label;
    out.sortLabel = { runId, label };
  }
  return out;
}

/** Content ids that pass every filter (only meaningful when `hasFilters`). */
export function allowedContents(library: Library, filters: SearchFilters): Set<number> {
  return library.contentsMatching(contentFilter(library, filters));
}

/** Tags are compared as typed, after Unicode normalization and trimming. */
export function normalizeTag(tag: string): string {
  return tag.normalize('NFC').trim();
}
