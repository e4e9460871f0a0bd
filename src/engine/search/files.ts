// Contents → the files that hold them, for presenting results.

import type { FileRecord, Library } from '../library/library.js';
import { fileClause, type SearchFilters } from './filters.js';

interface FileRow {
  id: number;
  path: string;
  folder: string;
  name: string;
  ext: string;
  size: number;
  mtime_ms: number;
  content_id: number;
  sha256: string;
  format: string | null;
  width: number | null;
  height: number | null;
  taken_at: number | null;
  gps_lat: number | null;
  gps_lon: number | null;
  camera: string | null;
}

const SELECT = `SELECT f.id, f.path, f.folder, f.name, f.ext, f.size, f.mtime_ms, f.content_id, c.sha256, c.format,
  c.width, c.height, f.taken_at, f.gps_lat, f.gps_lon, f.camera FROM files f JOIN contents c ON c.id = f.content_id`;

function toRecord(r: FileRow): FileRecord {
  return {
    id: r.id,
    path: r.path,
    folder: r.folder,
    name: r.name,
    ext: r.ext,
    size: r.size,
    mtimeMs: r.mtime_ms,
    contentId: r.content_id,
    sha256: r.sha256,
    format: r.format,
    width: r.width,
    height: r.height,
    takenAt: r.taken_at,
    gpsLat: r.gps_lat,
    gpsLon: r.gps_lon,
    camera: r.camera,
  };
}

const CHUNK = 500;

/** Present files of each content that pass the file-level filters, sorted by path. */
export function filesForContents(library: Library, contentIds: readonly number[], filters?: SearchFilters): Map<number, FileRecord[]> {
  const out = new Map<number, FileRecord[]>();
  const clause = fileClause(filters);
  for (let i = 0; i < contentIds.length; i += CHUNK) {
    const ids = contentIds.slice(i, i + CHUNK);
    const sql = `${SELECT} WHERE f.content_id IN (${ids.map(() => '?').join(',')}) AND ${clause.where} ORDER BY f.path`;
    for (const row of library.db.prepare(sql).all(...ids, ...clause.params) as FileRow[]) {
      const rec = toRecord(row);
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
  const sql = `${SELECT} WHERE f.present = 1 AND f.content_id IN
    (SELECT content_id FROM files WHERE present = 1 GROUP BY content_id HAVING count(*) >= ?) ORDER BY f.content_id, f.path`;
  for (const row of library.db.prepare(sql).all(minFiles) as FileRow[]) {
    const rec = toRecord(row);
    const list = out.get(rec.contentId);
    if (list) list.push(rec);
    else out.set(rec.contentId, [rec]);
  }
  return out;
}
