// Filters over files and contents, turned into SQL in one place.

import { inList, underFolders, type Clause } from './sql.js';
import type { Connection } from './sqlite.js';

export interface FileFilter {
  /** Files inside any of these folders, at any depth. */
  folders?: readonly string[];
  /** Extensions without the dot, any case (compared lower-case; no aliases: "jpg" is not "jpeg"). */
  exts?: readonly string[];
  present?: boolean;
  /** Capture time (EXIF, ms since the epoch), inclusive. Files without one are left out. */
  takenAfter?: number;
  takenBefore?: number;
  /** Camera name contains this text, ignoring case (Unicode-aware, see `fold`). */
  camera?: string;
}

export interface ContentFilter extends FileFilter {
  /** Contents carrying every one of these tags (compared exactly). */
  tags?: readonly string[];
  /** Contents that sort run put under exactly this label. */
  sortLabel?: { runId: number; label: string };
}

/** Case-insensitive text: SQLite's own lower() only knows ASCII, so "Ç" and "ç" would differ there. */
export function fold(text: string): string {
  return text.normalize('NFC').toLowerCase();
}

/** Registers the SQL functions the clauses below use. */
export function registerFilterFunctions(db: Connection): void {
  db.function('triagem_fold', { deterministic: true }, (value: unknown) => (typeof value === 'string' ? fold(value) : null));
}

function normalizeExt(ext: string): string {
  return ext.trim().replace(/^\./, '').toLowerCase();
}

/** Conditions over `files` (as `alias`), joined by AND; '1' when there are none. */
export function fileClause(alias: string, f: FileFilter): Clause {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (c: Clause) => {
    where.push(c.sql);
    params.push(...c.params);
  };
  if (f.folders?.length) add(underFolders(`${alias}.path`, f.folders));
  if (f.exts?.length) add(inList(`${alias}.ext`, [...new Set(f.exts.map(normalizeExt))]));
  if (f.present !== undefined) add({ sql: `${alias}.present = ?`, params: [f.present ? 1 : 0] });
  if (f.takenAfter !== undefined) add({ sql: `${alias}.taken_at >= ?`, params: [f.takenAfter] });
  if (f.takenBefore !== undefined) add({ sql: `${alias}.taken_at <= ?`, params: [f.takenBefore] });
  if (f.camera) add({ sql: `instr(triagem_fold(coalesce(${alias}.camera, '')), ?) > 0`, params: [fold(f.camera)] });
  return { sql: where.length ? where.join(' AND ') : '1', params };
}

/** Conditions over a content id column for the content-level part of `f`; '1' when there are none. */
export function contentClause(column: string, f: ContentFilter): Clause {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const tag of f.tags ?? []) {
    where.push(`${column} IN (SELECT content_id FROM tags WHERE tag = ?)`);
    params.push(tag);
  }
  if (f.sortLabel) {
    where.push(`${column} IN (SELECT content_id FROM sort_results WHERE run_id = ? AND label = ?)`);
    params.push(f.sortLabel.runId, f.sortLabel.label);
  }
  return { sql: where.length ? where.join(' AND ') : '1', params };
}
