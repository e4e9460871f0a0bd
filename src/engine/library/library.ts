import fs from 'node:fs';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';
import { FailureRepository, type FailureRecord } from './failures.js';
import { FileRepository, type ContentRef, type ContentRow, type FileRecord, type FileRow, type KnownFile } from './files.js';
import { registerFilterFunctions, type ContentFilter, type FileFilter } from './filters.js';
import { identifyConnection, identifyFile, type Identity } from './identity.js';
import { OLDEST_READABLE_VERSION, SCHEMA_VERSION, migrate } from './migrations.js';
import { OcrStore } from './ocr.js';
import { SortRunRepository, type NewSortRun, type SortResultRecord, type SortRunRecord } from './sort-runs.js';
import { connect, sqliteCode, type Connection } from './sqlite.js';
import { Statements } from './statements.js';
import { TagRepository } from './tags.js';
import { chunkRowids, hasChunkLayout, readChunkVectors, type VectorRows } from './vec-chunks.js';
import { WriteLock, currentCommand, lockFileOf, writerInfoFileOf } from './write-lock.js';

export type { ContentFilter, FileFilter } from './filters.js';
export type { ContentRef, ContentRow, FileRecord, FileRow, KnownFile, PhotoFields } from './files.js';
export type { FailureRecord } from './failures.js';
export type { NewSortRun, SortResultRecord, SortRunRecord } from './sort-runs.js';
export type { WriterInfo } from './write-lock.js';

export interface EmbeddingMatrix {
  contentIds: Int32Array;
  dim: number;
  /** Row-major, one L2-normalized row per entry of contentIds. */
  data: Float32Array;
}

export interface LibraryCounts {
  files: number;
  presentFiles: number;
  contents: number;
  failures: number;
}

/**
 * read: SQLite read-only; no migration, no journal-mode switch, no lock, nothing written beside the
 * file, so it works on read-only media and never changes the library's bytes. write: migrates, and
 * holds the library's writer lock until close().
 */
export type LibraryMode = 'read' | 'write';

export interface LibraryOpenOptions {
  /** Default 'write' (creates the library when missing). */
  mode?: LibraryMode;
  /** write: what a second writer is told holds the library (default: this process's command line). */
  command?: string;
  /** write: how long to wait for another process that is writing this library (default 5 s). */
  waitMs?: number;
}

export const DEFAULT_WRITER_WAIT_MS = 5000;
/** How long a statement waits on another connection's lock (SQLite's busy timeout). */
const BUSY_TIMEOUT_MS = 10_000;

/** Libraries this process has open, by canonical path: their headers must not be read with plain I/O. */
const openHere = new Map<string, number>();

function canonicalPath(abs: string): string {
  try {
    return fs.realpathSync(abs);
  } catch {
    try {
      return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
    } catch {
      return abs;
    }
  }
}

function notALibrary(file: string, why: string): TriagemError {
  return new TriagemError(`cannot open library: ${why}, not a Triagem library; it was left untouched`, 'not-a-library', file);
}

/** True when `err` is SQLite refusing a write to a library opened for reading. */
export function isReadOnlyRefusal(err: unknown): boolean {
  return (sqliteCode(err) ?? '').startsWith('SQLITE_READONLY');
}

/** Why a library of this schema version cannot be opened in this mode, if it cannot. */
export function schemaProblem(version: number, mode: LibraryMode, oldestReadable = OLDEST_READABLE_VERSION): string | undefined {
  if (version > SCHEMA_VERSION) return `library schema version ${version} is newer than this Triagem understands (${SCHEMA_VERSION}); update Triagem`;
  if (mode === 'read' && version < oldestReadable) {
    return `library schema version ${version} was made by an older Triagem and must be upgraded before it can be read; run a command that writes to it once (e.g. \`triagem index\`), on a writable copy if it sits on read-only media`;
  }
  return undefined;
}

function checkIdentity(identity: Identity, mode: LibraryMode, file: string): void {
  if (identity.kind === 'foreign') throw notALibrary(file, identity.why);
  if (mode === 'read' && identity.kind === 'missing') throw new TriagemError('no library here yet; run `triagem index <folder>` first', 'no-library', file);
  if (mode === 'read' && identity.kind === 'empty') throw new TriagemError('the library is empty; run `triagem index <folder>` first', 'no-library', file);
  if (identity.kind === 'library') {
    const problem = schemaProblem(identity.version, mode);
    if (problem) throw new TriagemError(problem, identity.version > SCHEMA_VERSION ? 'library-too-new' : 'library-too-old', file);
  }
}

/**
 * A read-only connection. A WAL-mode file (a library written by an older Triagem, or one a writer has
 * open) needs its -shm beside it; where the folder cannot hold one (read-only media) and no writer
 * left a -wal, the file is read as immutable instead, which is exact because nothing can change it.
 */
function openReader(file: string): Connection {
  let db: Connection | undefined;
  try {
    db = connect(file, { readonly: true, vec: true, busyTimeoutMs: BUSY_TIMEOUT_MS });
    db.pragma('schema_version');
    return db;
  } catch (err) {
    db?.close();
    const code = sqliteCode(err) ?? '';
    const readOnlyFolder = code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN');
    if (!readOnlyFolder || fs.existsSync(`${file}-wal`)) throw err;
    return connect(file, { readonly: true, immutable: true, vec: true });
  }
}

/**
 * A library a writer closes is left in rollback-journal mode, so that readers (search on a read-only
 * disk, a copy on a USB stick) open it without creating -wal/-shm files. Only possible when no other
 * connection has it open; otherwise it stays in WAL mode until the last writer closes.
 */
function leaveAtRest(db: Connection): void {
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.pragma('journal_mode = DELETE');
  } catch {
    // Another connection is open: that is fine, see above.
  }
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
  private readonly sql: Statements;
  private readonly files: FileRepository;
  private readonly failures: FailureRepository;
  private readonly tags: TagRepository;
  private readonly sortRuns: SortRunRepository;
  private ocrStore: OcrStore | undefined;

  private constructor(
    readonly file: string,
    readonly mode: LibraryMode,
    private readonly connection: Connection,
    private readonly lock: WriteLock | undefined,
    private readonly key: string,
  ) {
    this.thumbnailsDir = path.join(path.dirname(file), `${path.basename(file)}.thumbs`);
    this.sql = new Statements(connection);
    this.files = new FileRepository(this.sql);
    this.failures = new FailureRepository(this.sql);
    this.tags = new TagRepository(this.sql);
    this.sortRuns = new SortRunRepository(this.sql);
  }

  /**
   * @deprecated The raw connection, kept only while src/engine/search/{code-store,vector-index,
   * embedding-stream,duplicates}.ts still prepare their own SQL; they move behind Library methods in
   * the vectors work, and then this goes. Everything else uses the methods below.
   */
  get db(): Connection {
    return this.connection;
  }

  /**
   * Opens a library file. Either mode first makes sure the file is a Triagem library (or missing or
   * empty, for 'write'), reading it without changing it, and refuses anything else untouched.
   */
  static open(file: string, opts: LibraryOpenOptions = {}): Library {
    const mode = opts.mode ?? 'write';
    const abs = path.resolve(file);
    let db: Connection | undefined;
    let lock: WriteLock | undefined;
    let key = abs;
    try {
      if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) throw new Error('is a folder, not a library file');
      key = canonicalPath(abs);
      // A library this process already has open is known to be one, and reading its header with
      // plain file I/O here would drop the SQLite locks the process holds on it.
      if (!openHere.has(key)) checkIdentity(identifyFile(abs), mode, abs);
      if (mode === 'write') {
        fs.mkdirSync(path.dirname(abs), { recursive: true });
        lock = WriteLock.acquire(key, { command: opts.command ?? currentCommand(), waitMs: opts.waitMs ?? DEFAULT_WRITER_WAIT_MS });
        db = connect(abs, { readonly: false, vec: true, busyTimeoutMs: BUSY_TIMEOUT_MS });
        // Again, now that no other writer can be changing it, and before anything is written.
        checkIdentity(identifyConnection(db), mode, abs);
        db.pragma('journal_mode = WAL');
        // WAL + NORMAL: a crash can lose the last commits but never corrupts the file; each indexing
        // batch is its own transaction, so at most that batch is redone.
        db.pragma('synchronous = NORMAL');
        db.pragma('foreign_keys = ON');
        migrate(db, abs);
      } else {
        db = openReader(abs);
        checkIdentity(identifyConnection(db), mode, abs);
      }
      registerFilterFunctions(db);
    } catch (err) {
      db?.close();
      lock?.release();
      if (err instanceof TriagemError) throw err;
      throw new TriagemError(`cannot open library: ${errorMessage(err)}`, 'library-open', abs);
    }
    openHere.set(key, (openHere.get(key) ?? 0) + 1);
    return new Library(abs, mode, db, lock, key);
  }

  close(): void {
    if (!this.connection.open) return;
    if (this.mode === 'write') leaveAtRest(this.connection);
    this.connection.close();
    this.lock?.release();
    const n = (openHere.get(this.key) ?? 1) - 1;
    if (n > 0) openHere.set(this.key, n);
    else openHere.delete(this.key);
  }

  /** The statements, for a change; a library opened for reading refuses before SQLite would. */
  private writable(): Statements {
    if (this.mode !== 'write') throw new TriagemError('the library is open for reading only', 'library-read-only', this.file);
    return this.sql;
  }

  /** Runs `fn` as one transaction: all its writes land, or none. */
  transaction<T>(fn: () => T): T {
    return this.writable().transaction(fn);
  }

  /** Text recognised in the images (OCR records, full-text search, the library's OCR switch). */
  get ocr(): OcrStore {
    return (this.ocrStore ??= new OcrStore(this.connection));
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

  // Files and contents ----------------------------------------------------------------------------

  /** Files passing `filter`, sorted by path. */
  listFiles(filter: FileFilter = {}): FileRecord[] {
    return this.files.list(filter);
  }

  fileByPath(filePath: string): FileRecord | undefined {
    return this.files.byPath(filePath);
  }

  /** Every file holding this content, present or not, sorted by path. */
  filesByContent(contentId: number): FileRecord[] {
    return this.files.byContent(contentId);
  }

  /** Files of these contents that pass `filter`, grouped by content, each list sorted by path. */
  filesOfContents(contentIds: readonly number[], filter: FileFilter = {}): Map<number, FileRecord[]> {
    return this.files.ofContents(contentIds, filter);
  }

  /** Present files grouped by content, for contents that at least `minFiles` present files hold. */
  contentsWithManyFiles(minFiles: number): Map<number, FileRecord[]> {
    return this.files.withManyFiles(minFiles);
  }

  /** Contents with a file passing the file-level part of `filter` that pass its content-level part. */
  contentsMatching(filter: ContentFilter): Set<number> {
    return this.files.matchingContents(filter);
  }

  /** Contents that some present file holds, ascending. */
  presentContentIds(): number[] {
    return this.files.presentContentIds();
  }

  /**
   * A file the user moved with Triagem (copied, verified, original deleted) or moved back: the row
   * for `from` now names `to`, so searches stop returning a path that is gone. With `to` null (the
   * file went somewhere the library does not cover) the row is marked absent instead. A stale row
   * already at `to` is replaced. No row at `from`: nothing to do.
   */
  followMove(from: string, to: string | null): void {
    this.db.transaction(() => {
      if (to === null) {
        this.db.prepare('UPDATE files SET present = 0 WHERE path = ?').run(from);
        return;
      }
      this.db.prepare('DELETE FROM files WHERE path = ? AND path <> ? AND EXISTS (SELECT 1 FROM files WHERE path = ?)').run(to, from, from);
      this.db
        .prepare('UPDATE files SET path = ?, folder = ?, name = ?, present = 1 WHERE path = ?')
        .run(to, path.dirname(to), path.basename(to), from);
    })();
  }

  contentIdBySha256(sha256: string): number | undefined {
    return this.files.contentIdBySha256(sha256);
  }

  content(ref: { id: number } | { sha256: string }): ContentRef | undefined {
    return this.files.content(ref);
  }

  /** The first present file (by path) holding this content, e.g. to make its thumbnail from. */
  firstPresentPath(contentId: number): string | undefined {
    return this.files.firstPresentPath(contentId);
  }

  /** Contents that some present file holds but that have no embedding from this model yet. */
  contentIdsWithoutEmbedding(key: string): number[] {
    const embedded = this.embeddedContentIds(key);
    return this.presentContentIds().filter((id) => !embedded.has(id));
  }

  // Indexing writes --------------------------------------------------------------------------------

  /** What the library knows about every file under these folders, by path. */
  knownFilesUnder(roots: readonly string[]): Map<string, KnownFile> {
    return this.files.knownUnder(roots);
  }

  setFilesPresent(ids: readonly number[], present: boolean): void {
    if (ids.length === 0) return;
    this.writable().transaction(() => ids.forEach((id) => this.files.setPresent(id, present)));
  }

  /** Inserts the content or refreshes its format and size; returns its id. */
  upsertContent(c: ContentRow): number {
    this.writable();
    return this.files.upsertContent(c);
  }

  /** Records the file as present with this content, and clears any failure recorded for its path. */
  upsertFile(f: FileRow, contentId: number, now: number): void {
    this.writable();
    this.files.upsertFile(f, contentId, now);
    this.failures.clear(f.path);
  }

  recordFailure(filePath: string, error: string, size: number | null, mtimeMs: number | null, now: number): void {
    this.writable();
    this.failures.record(filePath, error, size, mtimeMs, now);
  }

  /** Drops recorded failures under the roots for paths not in `keep` (gone, or fine now). */
  pruneFailures(roots: readonly string[], keep: ReadonlySet<string>): void {
    const drop = this.failures.pathsUnder(roots).filter((p) => !keep.has(p));
    if (drop.length) this.writable().transaction(() => drop.forEach((p) => this.failures.clear(p)));
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

  /** Every path this library keeps: its file, SQLite's side files, its lock and its thumbnails. */
  ownFiles(): string[] {
    const names = (f: string) => [f, `${f}-wal`, `${f}-shm`, `${f}-journal`, lockFileOf(f), writerInfoFileOf(f)];
    return [...new Set([...names(this.file), ...names(this.key), this.thumbnailsDir])];
  }

  thumbnailPath(sha256: string): string {
    return path.join(this.thumbnailsDir, sha256.slice(0, 2), `${sha256}.webp`);
  }

  /** Failures recorded by indexing, optionally only those inside `folders`, by path. */
  listFailures(folders?: readonly string[]): FailureRecord[] {
    return this.failures.list(folders);
  }

  counts(): LibraryCounts {
    return {
      files: this.files.count(false),
      presentFiles: this.files.count(true),
      contents: this.files.contentCount(),
      failures: this.failures.count(),
    };
  }

  // Tags -------------------------------------------------------------------------------------------

  /** True when the content did not carry the tag before. */
  tagContent(contentId: number, tag: string): boolean {
    this.writable();
    return this.tags.add(contentId, tag);
  }

  /** True when the content carried the tag. */
  untagContent(contentId: number, tag: string): boolean {
    this.writable();
    return this.tags.remove(contentId, tag);
  }

  /** Every tag with how many contents carry it, by tag. */
  listTags(): { tag: string; contents: number }[] {
    return this.tags.list();
  }

  contentIdsWithTag(tag: string): number[] {
    return this.tags.contentIds(tag);
  }

  tagCount(): number {
    return this.tags.count();
  }

  // Sort runs --------------------------------------------------------------------------------------

  /** Stores a sort run and the label and score it gave each content; returns the run's id. */
  saveSortRun(run: NewSortRun): number {
    this.writable();
    return this.sortRuns.save(run);
  }

  latestSortRunId(): number | undefined {
    return this.sortRuns.latestId();
  }

  sortRun(id: number): SortRunRecord | undefined {
    return this.sortRuns.get(id);
  }

  /** Every sort run, newest first. */
  listSortRuns(): SortRunRecord[] {
    return this.sortRuns.list();
  }

  sortResults(runId: number): SortResultRecord[] {
    return this.sortRuns.results(runId);
  }

  /** The labels a run actually gave (`unsure` included when it was used). */
  sortResultLabels(runId: number): string[] {
    return this.sortRuns.resultLabels(runId);
  }
}
