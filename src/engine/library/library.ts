import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { TriagemError, errorMessage } from '../errors.js';
import { BrowseStore } from './browse.js';
import { DuplicateDecisions } from './duplicate-decisions.js';
import { migrate } from './migrations.js';
import { ReviewStore, type LabelExample } from './review.js';
import { underFolders } from './sql.js';
import { chunkRowids, hasChunkLayout, readChunkVectors, type VectorRows } from './vec-chunks.js';

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

export interface EmbeddingMatrix {
  contentIds: Int32Array;
  dim: number;
  /** Row-major, one L2-normalized row per entry of contentIds. */
  data: Float32Array;
}

export interface FileFilter {
  /** Files inside any of these folders, at any depth. */
  folders?: string[];
  /** Lower-case extensions without the dot. */
  exts?: string[];
  present?: boolean;
}

export interface FailureRecord {
  path: string;
  error: string;
  size: number | null;
  mtimeMs: number | null;
  at: number;
}

export interface LibraryCounts {
  files: number;
  presentFiles: number;
  contents: number;
  failures: number;
}

const FILE_SELECT = `SELECT f.id, f.path, f.folder, f.name, f.ext, f.size, f.mtime_ms, f.content_id, c.sha256, c.format, c.width,
  c.height, f.taken_at, f.gps_lat, f.gps_lon, f.camera FROM files f JOIN contents c ON c.id = f.content_id`;

type FileRow = [number, string, string, string, string, number, number, number, string, string | null, number | null, number | null, number | null, number | null, number | null, string | null];

// Raw rows turned into objects here, and sorted in JS rather than through the path index: for 100k
// files that is ~0.4 s instead of ~0.7 s with better-sqlite3's own row objects and ORDER BY.
function toRecord(r: FileRow): FileRecord {
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

function vectorBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function blobToVector(b: Buffer, dim: number): Float32Array {
  if (b.length !== dim * 4) throw new Error(`stored embedding has ${b.length / 4} values, expected ${dim}`);
  const out = new Float32Array(dim);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/**
 * One library file: which images exist where, their metadata, and their embeddings per model.
 * Embeddings are keyed by content (sha256), so a renamed, moved or duplicated file shares one row.
 */
export class Library {
  readonly thumbnailsDir: string;
  private readonly tables = new Map<string, { table: string; dim: number; fast: boolean }>();
  private reviewStore: ReviewStore | undefined;
  private browseStore: BrowseStore | undefined;
  private duplicateStore: DuplicateDecisions | undefined;

  private constructor(
    readonly file: string,
    readonly db: Database.Database,
  ) {
    this.thumbnailsDir = path.join(path.dirname(file), `${path.basename(file)}.thumbs`);
  }

  static open(file: string): Library {
    const abs = path.resolve(file);
    let db: Database.Database | undefined;
    try {
      if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) throw new Error('is a folder, not a library file');
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      db = new Database(abs);
      sqliteVec.load(db);
      db.pragma('journal_mode = WAL');
      // WAL + NORMAL: a crash can lose the last commits but never corrupts the file; each indexing
      // batch is its own transaction, so at most that batch is redone.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 10000');
      migrate(db, abs);
    } catch (err) {
      db?.close();
      if (err instanceof TriagemError) throw err;
      throw new TriagemError(`cannot open library: ${errorMessage(err)}`, 'library-open', abs);
    }
    return new Library(abs, db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Review marks and sort-run thresholds (review.ts). */
  get review(): ReviewStore {
    return (this.reviewStore ??= new ReviewStore(this.db));
  }

  /** Grid paging (browse.ts). */
  get browse(): BrowseStore {
    return (this.browseStore ??= new BrowseStore(this.db));
  }

  /** Duplicate keep/leave-out choices and "not duplicates" (duplicate-decisions.ts). */
  get duplicateDecisions(): DuplicateDecisions {
    return (this.duplicateStore ??= new DuplicateDecisions(this.db));
  }

  /** Labels people confirmed, as (contentId, label) examples for few-shot sorting. */
  confirmedLabels(): LabelExample[] {
    return this.review.confirmedLabels();
  }

  modelKey(info: { id: string; precision: string }): string {
    return `${info.id}:${info.precision}`;
  }

  ensureModel(key: string, dim: number): number {
    if (!Number.isInteger(dim) || dim <= 0) throw new TriagemError(`invalid embedding size ${dim} for model ${key}`, 'bad-model');
    return this.db.transaction(() => {
      const existing = this.db.prepare('SELECT id, dim FROM models WHERE key = ?').get(key) as { id: number; dim: number } | undefined;
      if (existing && existing.dim !== dim) {
        throw new TriagemError(`model ${key} was indexed with ${existing.dim}-dimensional embeddings but now produces ${dim}`, 'model-dim-mismatch', this.file);
      }
      const id = existing
        ? existing.id
        : Number(this.db.prepare('INSERT INTO models(key, dim, created_at) VALUES (?, ?, ?)').run(key, dim, Date.now()).lastInsertRowid);
      this.db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS emb_${id} USING vec0(embedding float[${dim}])`);
      return id;
    })();
  }

  modelId(key: string): number | undefined {
    const row = this.db.prepare('SELECT id FROM models WHERE key = ?').get(key) as { id: number } | undefined;
    return row?.id;
  }

  /** Every model that has an embedding table in this library. */
  listModels(): { id: number; key: string; dim: number; count: number }[] {
    const rows = this.db.prepare('SELECT id, key, dim FROM models ORDER BY id').all() as { id: number; key: string; dim: number }[];
    return rows.map((r) => ({ ...r, count: this.embeddingCount(r.key) }));
  }

  embeddingTable(key: string): string {
    return this.table(key).table;
  }

  private table(key: string): { table: string; dim: number; fast: boolean } {
    const cached = this.tables.get(key);
    if (cached) return cached;
    const row = this.db.prepare('SELECT id, dim FROM models WHERE key = ?').get(key) as { id: number; dim: number } | undefined;
    if (!row) throw new TriagemError(`no embeddings for model ${key} in this library; run \`triagem index\` with that model first`, 'unknown-model', this.file);
    const table = `emb_${row.id}`;
    const info = { table, dim: row.dim, fast: hasChunkLayout(this.db, table) };
    this.tables.set(key, info);
    return info;
  }

  listFiles(filter: FileFilter = {}): FileRecord[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.folders?.length) where.push(underFolders('f.path', filter.folders, params));
    if (filter.exts?.length) {
      where.push(`f.ext IN (${filter.exts.map(() => '?').join(',')})`);
      params.push(...filter.exts.map((e) => e.replace(/^\./, '').toLowerCase()));
    }
    if (filter.present !== undefined) {
      where.push('f.present = ?');
      params.push(filter.present ? 1 : 0);
    }
    const sql = `${FILE_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
    return this.records(sql, params);
  }

  fileByPath(filePath: string): FileRecord | undefined {
    return this.records(`${FILE_SELECT} WHERE f.path = ?`, [path.resolve(filePath)])[0];
  }

  filesByContent(contentId: number): FileRecord[] {
    return this.records(`${FILE_SELECT} WHERE f.content_id = ?`, [contentId]);
  }

  private records(sql: string, params: unknown[]): FileRecord[] {
    return (this.db.prepare(sql).raw().all(...params) as FileRow[]).map(toRecord).sort(byPath);
  }

  /**
   * Files matching a SQL condition over `files f JOIN contents c`, sorted by path. For modules (search)
   * that build their own filters but must present the same FileRecord as everything else.
   */
  filesWhere(condition: string, params: readonly unknown[]): FileRecord[] {
    return this.records(`${FILE_SELECT} WHERE ${condition}`, [...params]);
  }

  contentIdBySha256(sha256: string): number | undefined {
    const row = this.db.prepare('SELECT id FROM contents WHERE sha256 = ?').get(sha256) as { id: number } | undefined;
    return row?.id;
  }

  /** Contents that some present file holds but that have no embedding from this model yet. */
  contentIdsWithoutEmbedding(key: string): number[] {
    const embedded = this.embeddedContentIds(key);
    const ids = this.db.prepare('SELECT DISTINCT content_id FROM files WHERE present = 1 ORDER BY content_id').pluck().all() as number[];
    return ids.filter((id) => !embedded.has(id));
  }

  embeddedContentIds(key: string): Set<number> {
    const t = this.table(key);
    if (t.fast) return new Set(chunkRowids(this.db, t.table));
    return new Set(this.db.prepare(`SELECT rowid FROM ${t.table}`).pluck().all() as number[]);
  }

  putEmbeddings(key: string, rows: { contentId: number; vector: Float32Array }[]): void {
    const t = this.table(key);
    const del = this.db.prepare(`DELETE FROM ${t.table} WHERE rowid = ?`);
    // vec0 rejects rowids bound as REAL, and better-sqlite3 binds plain numbers as REAL: use BigInt.
    const ins = this.db.prepare(`INSERT INTO ${t.table}(rowid, embedding) VALUES (?, ?)`);
    this.db.transaction(() => {
      for (const { contentId, vector } of rows) {
        if (vector.length !== t.dim) throw new TriagemError(`embedding has ${vector.length} values, model ${key} stores ${t.dim}`, 'model-dim-mismatch', this.file);
        const rowid = BigInt(contentId);
        del.run(rowid);
        ins.run(rowid, vectorBlob(vector));
      }
    })();
  }

  getEmbedding(key: string, contentId: number): Float32Array | undefined {
    const t = this.table(key);
    const blob = this.db.prepare(`SELECT embedding FROM ${t.table} WHERE rowid = ?`).pluck().get(BigInt(contentId)) as Buffer | undefined;
    return blob && blobToVector(blob, t.dim);
  }

  /**
   * All embeddings of a model, or those of `contentIds` (in that order; ids without an embedding are
   * left out). Order of the full load is storage order — use `contentIds` to map rows back.
   */
  loadEmbeddings(key: string, contentIds?: readonly number[]): EmbeddingMatrix {
    const t = this.table(key);
    let want: Map<number, number> | undefined;
    if (contentIds) {
      want = new Map();
      for (const id of contentIds) if (!want.has(id)) want.set(id, want.size);
    }
    let rows: VectorRows | undefined;
    // A few point lookups beat streaming every chunk; past ~1/32 of the table the stream wins.
    const pointLookups = want !== undefined && want.size * 32 < this.embeddingCount(key);
    if (t.fast && !pointLookups) rows = readChunkVectors(this.db, t.table, t.dim, want);
    rows ??= want ? this.lookupVectors(t.table, t.dim, [...want.keys()]) : this.scanVectors(t.table, t.dim);
    return { contentIds: rows.ids, dim: t.dim, data: rows.data };
  }

  embeddingCount(key: string): number {
    const t = this.table(key);
    const sql = t.fast ? `SELECT count(*) FROM "${t.table}_rowids"` : `SELECT count(*) FROM ${t.table}`;
    return this.db.prepare(sql).pluck().get() as number;
  }

  private lookupVectors(table: string, dim: number, ids: number[]): VectorRows {
    const stmt = this.db.prepare(`SELECT embedding FROM ${table} WHERE rowid = ?`).pluck();
    const outIds: number[] = [];
    const data = new Float32Array(ids.length * dim);
    for (const id of ids) {
      const blob = stmt.get(BigInt(id)) as Buffer | undefined;
      if (!blob) continue;
      data.set(blobToVector(blob, dim), outIds.length * dim);
      outIds.push(id);
    }
    return { ids: Int32Array.from(outIds), data: data.slice(0, outIds.length * dim) };
  }

  private scanVectors(table: string, dim: number): VectorRows {
    const rows = this.db.prepare(`SELECT rowid, embedding FROM ${table}`).raw().all() as [number, Buffer][];
    const ids = new Int32Array(rows.length);
    const data = new Float32Array(rows.length * dim);
    rows.forEach(([id, blob], i) => {
      ids[i] = id;
      data.set(blobToVector(blob, dim), i * dim);
    });
    return { ids, data };
  }

  thumbnailPath(sha256: string): string {
    return path.join(this.thumbnailsDir, sha256.slice(0, 2), `${sha256}.webp`);
  }

  /** Failures recorded by indexing, optionally only those inside `folders`. */
  listFailures(folders?: string[]): FailureRecord[] {
    const params: unknown[] = [];
    const where = folders?.length ? ` WHERE ${underFolders('path', folders, params)}` : '';
    const rows = this.db.prepare(`SELECT path, error, size, mtime_ms, at FROM failures${where} ORDER BY path`).all(...params) as {
      path: string;
      error: string;
      size: number | null;
      mtime_ms: number | null;
      at: number;
    }[];
    return rows.map((r) => ({ path: r.path, error: r.error, size: r.size, mtimeMs: r.mtime_ms, at: r.at }));
  }

  latestSortRunId(): number | undefined {
    return (this.db.prepare('SELECT max(id) FROM sort_runs').pluck().get() as number | null) ?? undefined;
  }

  /** A stored sort run: its labels and each content's winning label and score. */
  sortRun(runId: number): { labels: string[]; results: { contentId: number; label: string; score: number }[] } | undefined {
    const run = this.db.prepare('SELECT labels FROM sort_runs WHERE id = ?').get(runId) as { labels: string } | undefined;
    if (!run) return undefined;
    const results = this.db.prepare('SELECT content_id AS contentId, label, score FROM sort_results WHERE run_id = ?').all(runId) as {
      contentId: number;
      label: string;
      score: number;
    }[];
    return { labels: JSON.parse(run.labels) as string[], results };
  }

  presentFilesByContent(contentId: number): FileRecord[] {
    return this.records(`${FILE_SELECT} WHERE f.content_id = ? AND f.present = 1`, [contentId]);
  }

  /** The content row for an id or a sha256, for thumbnails and previews. */
  content(ref: { contentId?: number; sha256?: string }): { id: number; sha256: string } | undefined {
    return (
      ref.contentId !== undefined
        ? this.db.prepare('SELECT id, sha256 FROM contents WHERE id = ?').get(ref.contentId)
        : this.db.prepare('SELECT id, sha256 FROM contents WHERE sha256 = ?').get(ref.sha256)
    ) as { id: number; sha256: string } | undefined;
  }

  counts(): LibraryCounts {
    const one = (sql: string) => this.db.prepare(sql).pluck().get() as number;
    return {
      files: one('SELECT count(*) FROM files'),
      presentFiles: one('SELECT count(*) FROM files WHERE present = 1'),
      contents: one('SELECT count(*) FROM contents'),
      failures: one('SELECT count(*) FROM failures'),
    };
  }
}
