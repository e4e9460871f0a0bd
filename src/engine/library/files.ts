// Files and contents: which image bytes (contents, by sha256) exist at which paths (files).

import path from 'node:path';
import { contentClause, fileClause, type ContentFilter, type FileFilter } from './filters.js';
import { inList, underFolders } from './sql.js';
import type { Statements } from './statements.js';

export interface FileRecord {
  id: number;
  path: string;
  folder: string;
  name: string;
  ext: string;
  size: number;
  mtimeMs: number;
  contentId: number;
  sha256: string;
  format: string | null;
  width: number | null;
  height: number | null;
  takenAt: number | null;
  gpsLat: number | null;
  gpsLon: number | null;
  camera: string | null;
}

/** What the library already knows about a path, enough to decide whether it changed. */
export interface KnownFile {
  id: number;
  path: string;
  size: number;
  mtimeMs: number;
  contentId: number;
  present: boolean;
}

export interface ContentRow {
  sha256: string;
  size: number;
  format: string;
  width: number;
  height: number;
}

export interface PhotoFields {
  takenAt: number | null;
  gpsLat: number | null;
  gpsLon: number | null;
  camera: string | null;
}

export interface FileRow {
  path: string;
  ext: string;
  size: number;
  mtimeMs: number;
  meta: PhotoFields;
}

export interface ContentRef {
  id: number;
  sha256: string;
}

const FILE_SELECT = `SELECT f.id, f.path, f.folder, f.name, f.ext, f.size, f.mtime_ms, f.content_id, c.sha256, c.format, c.width,
  c.height, f.taken_at, f.gps_lat, f.gps_lon, f.camera FROM files f JOIN contents c ON c.id = f.content_id`;

type FileTuple = [number, string, string, string, string, number, number, number, string, string | null, number | null, number | null, number | null, number | null, number | null, string | null];

// Raw rows turned into objects here, and sorted in JS rather than through the path index: for 100k
// files that is ~0.4 s instead of ~0.7 s with better-sqlite3's own row objects and ORDER BY.
function toRecord(r: FileTuple): FileRecord {
  return {
    id: r[0],
    path: r[1],
    folder: r[2],
    name: r[3],
    ext: r[4],
    size: r[5],
    mtimeMs: r[6],
    contentId: r[7],
    sha256: r[8],
    format: r[9],
    width: r[10],
    height: r[11],
    takenAt: r[12],
    gpsLat: r[13],
    gpsLon: r[14],
    camera: r[15],
  };
}

function byPath(a: FileRecord, b: FileRecord): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function groupByContent(records: FileRecord[]): Map<number, FileRecord[]> {
  const out = new Map<number, FileRecord[]>();
  for (const rec of records) {
    const list = out.get(rec.contentId);
    if (list) list.push(rec);
    else out.set(rec.contentId, [rec]);
  }
  return out;
}

export class FileRepository {
  constructor(private readonly sql: Statements) {}

  private records(where: string, params: readonly unknown[]): FileRecord[] {
    return (this.sql.raw(`${FILE_SELECT} WHERE ${where}`).all(...params) as FileTuple[]).map(toRecord).sort(byPath);
  }

  list(filter: FileFilter): FileRecord[] {
    const c = fileClause('f', filter);
    return this.records(c.sql, c.params);
  }

  byPath(filePath: string): FileRecord | undefined {
    return this.records('f.path = ?', [path.resolve(filePath)])[0];
  }

  byContent(contentId: number): FileRecord[] {
    return this.records('f.content_id = ?', [contentId]);
  }

  /** These files (by id) that pass `filter`, sorted by path. */
  byIds(ids: readonly number[], filter: FileFilter): FileRecord[] {
    if (ids.length === 0) return [];
    const list = inList('f.id', ids);
    const c = fileClause('f', filter);
    return this.records(`${list.sql} AND ${c.sql}`, [...list.params, ...c.params]);
  }

  /** Files of these contents that pass `filter`, grouped by content, each list sorted by path. */
  ofContents(contentIds: readonly number[], filter: FileFilter): Map<number, FileRecord[]> {
    if (contentIds.length === 0) return new Map();
    // One statement for any number of ids (bound as one JSON list); SQLite looks each up in the
    // content_id index.
    const ids = inList('f.content_id', contentIds);
    const c = fileClause('f', filter);
    return groupByContent(this.records(`${ids.sql} AND ${c.sql}`, [...ids.params, ...c.params]));
  }

  /** Present files grouped by content, for contents held by at least `minFiles` present files. */
  withManyFiles(minFiles: number): Map<number, FileRecord[]> {
    const where = `f.present = 1 AND f.content_id IN
      (SELECT content_id FROM files WHERE present = 1 GROUP BY content_id HAVING count(*) >= ?)`;
    return groupByContent(this.records(where, [minFiles]));
  }

  /** Contents with a file passing the file-level part of `filter`, that pass its content-level part. */
  matchingContents(filter: ContentFilter): Set<number> {
    const files = fileClause('f', filter);
    const contents = contentClause('f.content_id', filter);
    const ids = this.sql.pluck(`SELECT DISTINCT f.content_id FROM files f WHERE ${files.sql} AND ${contents.sql}`).all(...files.params, ...contents.params);
    return new Set(ids as number[]);
  }

  presentContentIds(): number[] {
    return this.sql.pluck('SELECT DISTINCT content_id FROM files WHERE present = 1 ORDER BY content_id').all() as number[];
  }

  contentIdBySha256(sha256: string): number | undefined {
    return this.sql.pluck('SELECT id FROM contents WHERE sha256 = ?').get(sha256) as number | undefined;
  }

  content(ref: { id: number } | { sha256: string }): ContentRef | undefined {
    return ('id' in ref
      ? this.sql.rows('SELECT id, sha256 FROM contents WHERE id = ?').get(ref.id)
      : this.sql.rows('SELECT id, sha256 FROM contents WHERE sha256 = ?').get(ref.sha256)) as ContentRef | undefined;
  }

  /** The first present path (by path order) holding this content. */
  firstPresentPath(contentId: number): string | undefined {
    return this.sql.pluck('SELECT path FROM files WHERE content_id = ? AND present = 1 ORDER BY path LIMIT 1').get(contentId) as string | undefined;
  }

  count(presentOnly: boolean): number {
    return this.sql.pluck(presentOnly ? 'SELECT count(*) FROM files WHERE present = 1' : 'SELECT count(*) FROM files').get() as number;
  }

  contentCount(): number {
    return this.sql.pluck('SELECT count(*) FROM contents').get() as number;
  }

  knownUnder(roots: readonly string[]): Map<string, KnownFile> {
    const under = underFolders('path', roots);
    const rows = this.sql.raw(`SELECT id, path, size, mtime_ms, content_id, present FROM files WHERE ${under.sql}`).all(...under.params) as [
      number,
      string,
      number,
      number,
      number,
      number,
    ][];
    const map = new Map<string, KnownFile>();
    for (const [id, p, size, mtimeMs, contentId, present] of rows) map.set(p, { id, path: p, size, mtimeMs, contentId, present: present === 1 });
    return map;
  }

  setPresent(id: number, present: boolean): void {
    this.sql.rows('UPDATE files SET present = ? WHERE id = ?').run(present ? 1 : 0, id);
  }

  upsertContent(c: ContentRow): number {
    return this.sql
      .pluck(
        `INSERT INTO contents(sha256, size, format, width, height) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(sha256) DO UPDATE SET format = excluded.format, width = excluded.width, height = excluded.height
      RETURNING id`,
      )
      .get(c.sha256, c.size, c.format, c.width, c.height) as number;
  }

  upsertFile(f: FileRow, contentId: number, now: number): void {
    this.sql
      .rows(
        `INSERT INTO files(path, folder, name, ext, size, mtime_ms, content_id, taken_at, gps_lat, gps_lon, camera, indexed_at, present)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
      ON CONFLICT(path) DO UPDATE SET folder = excluded.folder, name = excluded.name, ext = excluded.ext, size = excluded.size,
        mtime_ms = excluded.mtime_ms, content_id = excluded.content_id, taken_at = excluded.taken_at, gps_lat = excluded.gps_lat,
        gps_lon = excluded.gps_lon, camera = excluded.camera, indexed_at = excluded.indexed_at, present = 1`,
      )
      .run(f.path, path.dirname(f.path), path.basename(f.path), f.ext, f.size, f.mtimeMs, contentId, f.meta.takenAt, f.meta.gpsLat, f.meta.gpsLon, f.meta.camera, now);
  }
}
