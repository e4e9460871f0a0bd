// Search filters → SQL over the library: which contents may be returned, and which of their files.
//
// File-level filters (folder, type, capture date, camera) select files; content-level filters (tag,
// sort label) select contents. A content qualifies when one of its present files passes the
// file-level filters and the content passes the content-level ones; results list only those files.

import path from 'node:path';
import { TriagemError } from '../errors.js';
import type { Library } from '../library/library.js';
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

export interface Sql {
  where: string;
  params: unknown[];
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

/** The sort run whose results a label filter reads. */
export function resolveSortRun(library: Library, label: string, runId?: number): number {
  const wanted = label.normalize('NFC').trim().toLocaleLowerCase();
  const rows = (
    runId !== undefined
      ? library.db.prepare('SELECT id, labels FROM sort_runs WHERE id = ?').all(runId)
      : library.db.prepare('SELECT id, labels FROM sort_runs ORDER BY id DESC').all()
  ) as { id: number; labels: string }[];
  if (runId !== undefined && rows.length === 0) throw new TriagemError(`there is no sort run ${runId} in this library`, 'unknown-sort-run', library.file);
  for (const row of rows) {
    let labels: unknown;
    try {
      labels = JSON.parse(row.labels);
    } catch {
      continue;
    }
    if (!Array.isArray(labels)) continue;
    const names = [...labels.filter((l): l is string => typeof l === 'string'), UNSURE_LABEL];
    if (names.some((l) => l.normalize('NFC').trim().toLocaleLowerCase() === wanted)) return row.id;
  }
  throw new TriagemError(
    runId !== undefined ? `sort run ${runId} has no label "${label}"` : `no sort run in this library has the label "${label}"; run \`triagem sort\` first`,
    'unknown-label',
    library.file,
  );
}

/** WHERE clause over `files f` for the file-level filters (always: present files only). */
export function fileClause(filters: SearchFilters | undefined): Sql {
  const where = ['f.present = 1'];
  const params: unknown[] = [];
  if (filters?.folders?.length) {
    const parts = filters.folders.map((folder) => {
      const dir = path.resolve(folder);
      const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
      params.push(prefix.length, prefix);
      // substr, not LIKE: paths may hold % and _.
      return 'substr(f.path, 1, ?) = ?';
    });
    where.push(`(${parts.join(' OR ')})`);
  }
  if (filters?.exts?.length) {
    const exts = normalizeExts(filters.exts);
    where.push(`f.ext IN (${exts.map(() => '?').join(', ')})`);
    params.push(...exts);
  }
  if (filters?.takenAfter !== undefined) {
    where.push('f.taken_at >= ?');
    params.push(filters.takenAfter);
  }
  if (filters?.takenBefore !== undefined) {
    where.push('f.taken_at <= ?');
    params.push(filters.takenBefore);
  }
  if (filters?.camera) {
    where.push("instr(lower(coalesce(f.camera, '')), ?) > 0");
    params.push(filters.camera.toLowerCase());
  }
  return { where: where.join(' AND '), params };
}

/** WHERE clause over a `content_id` column for the content-level filters. */
export function contentClause(library: Library, filters: SearchFilters | undefined, column: string): Sql {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const tag of filters?.tags ?? []) {
    where.push(`${column} IN (SELECT content_id FROM tags WHERE tag = ?)`);
    params.push(normalizeTag(tag));
  }
  if (filters?.label !== undefined) {
    const run = resolveSortRun(library, filters.label, filters.sortRun);
    const labels = library.db.prepare('SELECT DISTINCT label FROM sort_results WHERE run_id = ?').pluck().all(run) as string[];
    const wanted = filters.label.normalize('NFC').trim().toLocaleLowerCase();
    const exact = labels.find((l) => l.normalize('NFC').trim().toLocaleLowerCase() === wanted) ?? filters.label;
    where.push(`${column} IN (SELECT content_id FROM sort_results WHERE run_id = ? AND label = ?)`);
    params.push(run, exact);
  }
  return { where: where.length ? where.join(' AND ') : '1', params };
}

/** Content ids that pass every filter (only meaningful when `hasFilters`). */
export function allowedContents(library: Library, filters: SearchFilters): Set<number> {
  const files = fileClause(filters);
  const contents = contentClause(library, filters, 'f.content_id');
  const sql = `SELECT DISTINCT f.content_id FROM files f WHERE ${files.where} AND ${contents.where}`;
  return new Set(library.db.prepare(sql).pluck().all(...files.params, ...contents.params) as number[]);
}

/** Tags are compared as typed, after Unicode normalization and trimming. */
export function normalizeTag(tag: string): string {
  return tag.normalize('NFC').trim();
}
