import path from 'node:path';
import type { Statement } from 'better-sqlite3';
import type { Library } from '../library/library.js';
import { underFolders } from '../library/sql.js';
import type { PhotoMetadata } from '../images/metadata.js';

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

export interface FileRow {
  path: string;
  ext: string;
  size: number;
  mtimeMs: number;
  meta: PhotoMetadata;
}

/** The indexer's writes, as prepared statements over the library's connection. */
export class IndexStore {
  private readonly upsertContentStmt: Statement;
  private readonly upsertFileStmt: Statement;
  private readonly contentByShaStmt: Statement;
  private readonly failureStmt: Statement;
  private readonly clearFailureStmt: Statement;
  private readonly presentStmt: Statement;

  constructor(private readonly library: Library) {
    const db = library.db;
    this.upsertContentStmt = db.prepare(`INSERT INTO contents(sha256, size, format, width, height) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(sha256) DO UPDATE SET format = excluded.format, width = excluded.width, height = excluded.height
      RETURNING id`).pluck();
    this.upsertFileStmt = db.prepare(`INSERT INTO files(path, folder, name, ext, size, mtime_ms, content_id, taken_at, gps_lat, gps_lon, camera, indexed_at, present)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
      ON CONFLICT(path) DO UPDATE SET folder = excluded.folder, name = excluded.name, ext = excluded.ext, size = excluded.size,
        mtime_ms = excluded.mtime_ms, content_id = excluded.content_id, taken_at = excluded.taken_at, gps_lat = excluded.gps_lat,
        gps_lon = excluded.gps_lon, camera = excluded.camera, indexed_at = excluded.indexed_at, present = 1`);
    this.contentByShaStmt = db.prepare('SELECT id FROM contents WHERE sha256 = ?').pluck();
    this.failureStmt = db.prepare(`INSERT INTO failures(path, error, size, mtime_ms, at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(path) DO UPDATE SET error = excluded.error, size = excluded.size, mtime_ms = excluded.mtime_ms, at = excluded.at`);
    this.clearFailureStmt = db.prepare('DELETE FROM failures WHERE path = ?');
    this.presentStmt = db.prepare('UPDATE files SET present = ? WHERE id = ?');
  }

  knownFilesUnder(roots: readonly string[]): Map<string, KnownFile> {
    const params: unknown[] = [];
    const rows = this.library.db
      .prepare(`SELECT id, path, size, mtime_ms, content_id, present FROM files WHERE ${underFolders('path', roots, params)}`)
      .raw()
      .all(...params) as [number, string, number, number, number, number][];
    const map = new Map<string, KnownFile>();
    for (const [id, p, size, mtimeMs, contentId, present] of rows) map.set(p, { id, path: p, size, mtimeMs, contentId, present: present === 1 });
    return map;
  }

  /** Drops recorded failures under the roots for paths that are no longer candidates (gone or fine now). */
  pruneFailures(roots: readonly string[], keep: ReadonlySet<string>): void {
    const params: unknown[] = [];
    const paths = this.library.db.prepare(`SELECT path FROM failures WHERE ${underFolders('path', roots, params)}`).pluck().all(...params) as string[];
    const drop = paths.filter((p) => !keep.has(p));
    this.library.db.transaction(() => drop.forEach((p) => this.clearFailureStmt.run(p)))();
  }

  setPresent(ids: readonly number[], present: boolean): void {
    if (ids.length === 0) return;
    this.library.db.transaction(() => ids.forEach((id) => this.presentStmt.run(present ? 1 : 0, id)))();
  }

  contentIdBySha(sha256: string): number | undefined {
    return this.contentByShaStmt.get(sha256) as number | undefined;
  }

  upsertContent(c: ContentRow): number {
    return this.upsertContentStmt.get(c.sha256, c.size, c.format, c.width, c.height) as number;
  }

  upsertFile(f: FileRow, contentId: number, now: number): void {
    this.upsertFileStmt.run(
      f.path,
      path.dirname(f.path),
      path.basename(f.path),
      f.ext,
      f.size,
      f.mtimeMs,
      contentId,
      f.meta.takenAt,
      f.meta.gpsLat,
      f.meta.gpsLon,
      f.meta.camera,
      now,
    );
    this.clearFailureStmt.run(f.path);
  }

  recordFailure(filePath: string, error: string, size: number | null, mtimeMs: number | null, now: number): void {
    this.failureStmt.run(filePath, error, size, mtimeMs, now);
  }

  /** A file whose new bytes failed no longer holds the content the library has for it. */
  markAbsent(id: number): void {
    this.presentStmt.run(0, id);
  }
}
