import fs from 'node:fs';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';
import { FailureRepository, type FailureRecord } from './failures.js';
import { FileRepository, type ContentRef, type ContentRow, type FileRecord, type FileRow, type KnownFile } from './files.js';
import { registerFilterFunctions, type ContentFilter, type FileFilter } from './filters.js';
import { identifyConnection, identifyFile, type Identity } from './identity.js';
import { OLDEST_READABLE_VERSION, SCHEMA_VERSION, migrate } from './migrations.js';
import { OcrStore } from './ocr.js';
import { ContentWarnings } from './content-warnings.js';
import { SortRunRepository, type NewSortRun, type SortResultRecord, type SortRunRecord } from './sort-runs.js';
import { connect, sqliteCode, type Connection } from './sqlite.js';
import { Statements } from './statements.js';
import { TagRepository } from './tags.js';
import { WriteLock, currentCommand, lockFileOf, writerInfoFileOf } from './write-lock.js';
import { decodeFixed16 } from '../vectors/fixed16.js';
import type { VectorRows } from '../vectors/types.js';
import { EmbeddingRows } from './embeddings.js';
import { VectorBlocks } from './vector-blocks.js';
import { BrowseStore } from './browse.js';
import { DuplicateDecisions } from './duplicate-decisions.js';
import { ReviewStore, type LabelExample } from './review.js';

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

/**
 * One library file: which images exist where, their metadata, and their embeddings per model.
 * Embeddings are keyed by content (sha256), so a renamed, moved or duplicated file shares one row.
 */
export class Library {
  readonly thumbnailsDir: string;
  private readonly sql: Statements;
  private readonly files: FileRepository;
  private readonly failures: FailureRepository;
  private readonly tags: TagRepository;
  private readonly sortRuns: SortRunRepository;
  private ocrStore: OcrStore | undefined;
  private warningStoreInstance: ContentWarnings | undefined;
  private readonly models = new Map<string, { id: number; dim: number }>();
  private embeddingRows: EmbeddingRows | undefined;
  private blocks: VectorBlocks | undefined;
  private reviewStore: ReviewStore | undefined;
  private browseStore: BrowseStore | undefined;
  private duplicateStore: DuplicateDecisions | undefined;

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
   * The raw connection, for the benchmarks' bulk loader of synthetic million-row libraries only
   * (bench/_search-synthetic.ts); no code under src/ uses it (test/sql-boundary.test.ts checks).
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

  /** Damaged-but-decoded images, per content (content-warnings.ts); writes go through setContentWarning. */
  get warnings(): Pick<ContentWarnings, 'get' | 'forContents' | 'presentFiles'> {
    return this.warningStore();
  }

  private warningStore(): ContentWarnings {
    return (this.warningStoreInstance ??= new ContentWarnings(this.connection));
  }

  /** What decoding said about a content: a damage warning, or null for a clean decode (clears one). */
  setContentWarning(contentId: number, warning: string | null, now: number): void {
    this.writable();
    this.warningStore().put(contentId, warning, now);
  }

  /** Review marks and sort-run thresholds (review.ts). */
  get review(): ReviewStore {
    return (this.reviewStore ??= new ReviewStore(this.connection));
  }

  /** Grid paging (browse.ts). */
  get browse(): BrowseStore {
    return (this.browseStore ??= new BrowseStore(this.connection));
  }

  /** Duplicate keep/leave-out choices and "not duplicates" (duplicate-decisions.ts). */
  get duplicateDecisions(): DuplicateDecisions {
    return (this.duplicateStore ??= new DuplicateDecisions(this.connection));
  }

  /** Labels people confirmed, as (contentId, label) examples for few-shot sorting. */
  confirmedLabels(): LabelExample[] {
    return this.review.confirmedLabels();
  }

  modelKey(info: { id: string; precision: string }): string {
    return `${info.id}:${info.precision}`;
  }

  // ---- embeddings (one 16-bit copy per content and model: library/embeddings.ts) and the search
  // codes and signatures derived from them (library/vector-blocks.ts)

  ensureModel(key: string, dim: number): number {
    if (!Number.isInteger(dim) || dim <= 0) throw new TriagemError(`invalid embedding size ${dim} for model ${key}`, 'bad-model');
    return this.db.transaction(() => {
      const existing = this.db.prepare('SELECT id, dim FROM models WHERE key = ?').get(key) as { id: number; dim: number } | undefined;
      if (existing && existing.dim !== dim) {
        throw new TriagemError(`model ${key} was indexed with ${existing.dim}-dimensional embeddings but now produces ${dim}`, 'model-dim-mismatch', this.file);
      }
      return existing ? existing.id : Number(this.db.prepare('INSERT INTO models(key, dim, created_at) VALUES (?, ?, ?)').run(key, dim, Date.now()).lastInsertRowid);
    })();
  }

  modelId(key: string): number | undefined {
    const row = this.db.prepare('SELECT id FROM models WHERE key = ?').get(key) as { id: number } | undefined;
    return row?.id;
  }

  /** Every model that has embeddings (or once had) in this library. */
  listModels(): { id: number; key: string; dim: number; count: number }[] {
    const rows = this.db.prepare('SELECT id, key, dim FROM models ORDER BY id').all() as { id: number; key: string; dim: number }[];
    return rows.map((r) => ({ ...r, count: this.rows.size(r.id) }));
  }

  /** The model's row id and embedding width; throws for a model this library has never seen. */
  embeddingModel(key: string): { id: number; dim: number } {
    const cached = this.models.get(key);
    if (cached) return cached;
    const row = this.db.prepare('SELECT id, dim FROM models WHERE key = ?').get(key) as { id: number; dim: number } | undefined;
    if (!row) throw new TriagemError(`no embeddings for model ${key} in this library; run \`triagem index\` with that model first`, 'unknown-model', this.file);
    this.models.set(key, row);
    return row;
  }

  /** Persisted search codes, near-duplicate signatures and near pairs (written by indexing, read by search). */
  get vectorBlocks(): VectorBlocks {
    return (this.blocks ??= new VectorBlocks(this.db));
  }

  private get rows(): EmbeddingRows {
    return (this.embeddingRows ??= new EmbeddingRows(this.db));
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

  /** These files (by id) that pass `filter`, sorted by path; ids the library does not know are left out. */
  filesByIds(ids: readonly number[], filter: FileFilter = {}): FileRecord[] {
    return this.files.byIds(ids, filter);
  }

  /** The files holding this content that are still on disk, sorted by path. */
  presentFilesByContent(contentId: number): FileRecord[] {
    return this.files.ofContents([contentId], { present: true }).get(contentId) ?? [];
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
    return new Set(this.rows.ids(this.embeddingModel(key).id));
  }

  /** The same ids as a sorted array (cheaper than a Set at a million). */
  embeddedIdList(key: string): Int32Array {
    return this.rows.ids(this.embeddingModel(key).id);
  }

  /** Every stored embedding as 16-bit values (see vectors/fixed16.ts), in content id order: n × dim × 2 bytes. */
  allFixedEmbeddings(key: string): { ids: Int32Array; data: Int16Array } {
    const { id, dim } = this.embeddingModel(key);
    return this.rows.allFixed(id, dim);
  }

  /** Stores (or replaces) embeddings, all or none; each must have the model's width. */
  putEmbeddings(key: string, rows: { contentId: number; vector: Float32Array }[]): void {
    const { id, dim } = this.embeddingModel(key);
    for (const { vector } of rows) {
      if (vector.length !== dim) throw new TriagemError(`embedding has ${vector.length} values, model ${key} stores ${dim}`, 'model-dim-mismatch', this.file);
    }
    this.db.transaction(() => {
      this.rows.write(id, rows);
      this.countChange(id);
    })();
  }

  /** Forgets embeddings (their search codes and signatures go at the next persist). Returns how many existed. */
  deleteEmbeddings(key: string, contentIds: Iterable<number>): number {
    const { id } = this.embeddingModel(key);
    return this.db.transaction(() => {
      const n = this.rows.remove(id, contentIds);
      if (n > 0) this.countChange(id);
      return n;
    })();
  }

  /**
   * A counter bumped by every change to a model's embeddings: stored codes made at the same count
   * are known to be current without comparing id lists.
   */
  embeddingsChange(key: string): number {
    return this.db.prepare('SELECT embeddings_changed FROM models WHERE id = ?').pluck().get(this.embeddingModel(key).id) as number;
  }

  private countChange(modelId: number): void {
    this.db.prepare('UPDATE models SET embeddings_changed = embeddings_changed + 1 WHERE id = ?').run(modelId);
  }

  /** The stored embedding, decoded to floats (within 1.5e-5 of what was put), or undefined. */
  getEmbedding(key: string, contentId: number): Float32Array | undefined {
    const { id, dim } = this.embeddingModel(key);
    const v = this.rows.fixed(id, contentId, dim);
    return v && decodeFixed16(v);
  }

  /** Point reads of stored 16-bit embeddings (see vectors/fixed16.ts). */
  fixedEmbeddingReader(key: string): (contentId: number) => Int16Array | undefined {
    const { id, dim } = this.embeddingModel(key);
    const rows = this.rows;
    return (contentId) => rows.fixed(id, contentId, dim);
  }

  /** Batched reads of stored 16-bit embeddings, in the order asked (undefined where none): for re-scoring. */
  fixedEmbeddingsReader(key: string): (contentIds: readonly number[]) => (Int16Array | undefined)[] {
    const { id, dim } = this.embeddingModel(key);
    const rows = this.rows;
    return (contentIds) => rows.fixedMany(id, contentIds, dim);
  }

  /**
   * All embeddings of a model (in content id order), or those of `contentIds` (in that order; ids
   * without an embedding are left out), decoded to floats.
   */
  loadEmbeddings(key: string, contentIds?: readonly number[]): EmbeddingMatrix {
    const { id, dim } = this.embeddingModel(key);
    if (contentIds) {
      const rows = this.rows.lookup(id, dim, [...new Set(contentIds)]);
      return { contentIds: rows.ids, dim, data: rows.data };
    }
    const parts = [...this.rows.stream(id, dim)];
    const n = parts.reduce((s, p) => s + p.ids.length, 0);
    const ids = new Int32Array(n);
    const data = new Float32Array(n * dim);
    let at = 0;
    for (const p of parts) {
      ids.set(p.ids, at);
      data.set(p.data, at * dim);
      at += p.ids.length;
    }
    return { contentIds: ids, dim, data };
  }

  /** Embeddings in batches (all, or those of `wanted`), for passes that must not hold them all at once. */
  streamEmbeddings(key: string, wanted?: ReadonlySet<number>): Generator<VectorRows> {
    const { id, dim } = this.embeddingModel(key);
    return this.rows.stream(id, dim, wanted);
  }

  embeddingCount(key: string): number {
    return this.rows.size(this.embeddingModel(key).id);
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
  /** Drops the results of old sort runs (see SortRunRepository.prune); returns how many runs went. */
  pruneSortRuns(keep: number): number {
    this.writable();
    return this.sortRuns.prune(keep);
  }

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
