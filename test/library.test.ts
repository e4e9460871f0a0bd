import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppContext, KEPT_SORT_RUNS } from '../src/app/context.js';
import { TriagemError } from '../src/engine/errors.js';
import { Library } from '../src/engine/library/library.js';
import { TRIAGEM_APPLICATION_ID } from '../src/engine/library/identity.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/engine/library/migrations.js';
import { openVectorIndex } from '../src/engine/vectors/code-store.js';
import { encodeRow, fitQuantizer, planeBytes, serializeParams } from '../src/engine/vectors/quantizer.js';
import { withRawDb } from './support/raw-db.js';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-library-'));
}

/** A deterministic unit vector per id, so a wrong id→vector pairing cannot go unnoticed. */
function vectorFor(id: number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let s = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = Math.sin(id * 12.9898 + i * 78.233) + 0.01 * id;
    s += v[i] * v[i];
  }
  for (let i = 0; i < dim; i++) v[i] /= Math.sqrt(s);
  return v;
}

function addContent(lib: Library, sha: string): number {
  return lib.upsertContent({ sha256: sha, size: 10, format: 'jpeg', width: 4, height: 3 });
}

function addFile(lib: Library, filePath: string, contentId: number, present = 1): void {
  const ext = path.extname(filePath).slice(1).toLowerCase();
  lib.upsertFile({ path: filePath, ext, size: 10, mtimeMs: 1000, meta: { takenAt: 5, gpsLat: -23.5, gpsLon: -46.6, camera: 'Cam' } }, contentId, 1);
  if (!present) lib.setFilesPresent([lib.fileByPath(filePath)!.id], false);
}

/** Stored embeddings are 16-bit fixed point: each value within half a step of what was put. */
function expectStored(got: ArrayLike<number>, put: ArrayLike<number>): void {
  expect(got.length).toBe(put.length);
  for (let i = 0; i < put.length; i++) expect(Math.abs(got[i] - put[i])).toBeLessThanOrEqual(0.5 / 32767 + 1e-7);
}

describe('Library', () => {
  let dir: string;
  let lib: Library;

  beforeEach(() => {
    dir = tempDir();
    lib = Library.open(path.join(dir, 'nested', 'deeper', 'lib.sqlite'));
  });

  afterEach(() => {
    lib.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prunes old sort runs but keeps the newest and any that review marks or their undo history point at', () => {
    const a = addContent(lib, 'a'.repeat(64));
    const b = addContent(lib, 'b'.repeat(64));
    const save = () =>
      lib.saveSortRun({ modelKey: 'm:fp32', labels: ['x', 'y'], threshold: null, results: new Map([[a, { label: 'x', score: 0.9 }], [b, { label: 'y', score: 0.8 }]]) });
    const ids = Array.from({ length: 6 }, save);
    lib.review.mark([a], { label: 'x' }, ids[0]);
    lib.review.mark([b], { label: 'y' }, ids[1]);
    lib.review.mark([b], { label: 'x' }, ids[4]); // run 2's mark is now only in the undo history
    expect(lib.pruneSortRuns(2)).toBe(2);
    expect(lib.listSortRuns().map((r) => r.id).sort((x, y) => x - y)).toEqual([ids[0], ids[1], ids[4], ids[5]]);
    expect(lib.sortResults(ids[2])).toEqual([]);
    expect(lib.sortResults(ids[3])).toEqual([]);
    expect(lib.sortResults(ids[5])).toHaveLength(2);
    expect(lib.pruneSortRuns(2)).toBe(0);
  });

  it('the app prunes old sort runs when it gives the writer back', async () => {
    lib.close();
    const app = new AppContext({ libraryPath: lib.file, modelsDir: dir, device: 'cpu' });
    try {
      const writer = app.library('write');
      const a = addContent(writer, 'c'.repeat(64));
      for (let i = 0; i < KEPT_SORT_RUNS + 3; i++) writer.saveSortRun({ modelKey: 'm:fp32', labels: ['x'], threshold: null, results: new Map([[a, { label: 'x', score: 0.5 }]]) });
      expect(writer.listSortRuns()).toHaveLength(KEPT_SORT_RUNS + 3);
      app.releaseWriter();
      expect(app.library('read').listSortRuns()).toHaveLength(KEPT_SORT_RUNS);
    } finally {
      await app.close();
      lib = Library.open(lib.file);
    }
  });

  it('creates the file and folders, in WAL mode, with sqlite-vec loaded, the latest schema and the Triagem marker', () => {
    expect(fs.existsSync(lib.file)).toBe(true);
    expect(lib.file).toBe(path.join(dir, 'nested', 'deeper', 'lib.sqlite'));
    expect(lib.thumbnailsDir).toBe(path.join(dir, 'nested', 'deeper', 'lib.sqlite.thumbs'));
    withRawDb(lib.file, (db) => {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(SCHEMA_VERSION).toBe(6);
      expect(db.pragma('application_id', { simple: true })).toBe(TRIAGEM_APPLICATION_ID);
      expect(db.prepare('SELECT vec_version()').pluck().get()).toMatch(/^v0\./);
      const cols = (t: string) => (db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name);
      expect(cols('contents')).toEqual(['id', 'sha256', 'size', 'format', 'width', 'height']);
      expect(cols('files')).toEqual([
        'id', 'path', 'folder', 'name', 'ext', 'size', 'mtime_ms', 'content_id', 'taken_at', 'gps_lat', 'gps_lon', 'camera', 'indexed_at', 'present',
      ]);
      expect(cols('failures')).toEqual(['path', 'error', 'size', 'mtime_ms', 'at']);
      expect(cols('models')).toEqual(['id', 'key', 'dim', 'created_at', 'embeddings_changed']);
      expect(cols('sort_runs')).toEqual(['id', 'model_key', 'labels', 'threshold', 'created_at']);
      expect(cols('sort_results')).toEqual(['run_id', 'content_id', 'label', 'score']);
      expect(cols('tags')).toEqual(['content_id', 'tag']);
      expect(cols('embeddings')).toEqual(['model_id', 'content_id', 'vec']);
      expect(cols('vector_state')).toEqual(['model_id', 'codes_version', 'signatures_version', 'fitted_on', 'params', 'synced_change', 'pairs_threshold', 'generation', 'updated_at']);
      expect(cols('near_pairs')).toEqual(['model_id', 'a', 'b', 'score']);
      expect(cols('vector_blocks')).toEqual(['model_id', 'kind', 'block', 'ids', 'data']);
      expect(cols('ocr_text')).toContain('text');
      expect(cols('marks')).toEqual(['content_id', 'label', 'flag', 'run_id', 'updated_at']);
      expect(cols('sort_thresholds')).toEqual(['run_id', 'label', 'threshold']);
      const indexes = (db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'files' AND sql IS NOT NULL").pluck().all() as string[]).join('\n');
      expect(indexes).toMatch(/files\(content_id\)/);
      expect(indexes).toMatch(/files\(folder\)/);
    });
  });

  it('reopens an existing library without re-running migrations and keeps its data', () => {
    addContent(lib, 'a'.repeat(64));
    lib.close();
    lib = Library.open(path.join(dir, 'nested', 'deeper', 'lib.sqlite'));
    expect(lib.counts().contents).toBe(1);
  });

  it('refuses a library from a newer schema and a file that is not a library, naming the file', () => {
    withRawDb(lib.file, (db) => db.pragma(`user_version = ${SCHEMA_VERSION + 1}`));
    const file = lib.file;
    lib.close();
    expect(() => Library.open(file)).toThrow(TriagemError);
    expect(() => Library.open(file)).toThrow(/newer than this Triagem/);
    const junk = path.join(dir, 'junk.sqlite');
    fs.writeFileSync(junk, 'this is not a database, just some text that is long enough to be a header......'.repeat(20));
    expect(() => Library.open(junk)).toThrow(new RegExp(`${junk.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot open library`));
    expect(() => Library.open(dir)).toThrow(/is a folder/);
    lib = Library.open(path.join(dir, 'other.sqlite'));
  });

  it('keys models by id:precision, each with its own width, and creates no table per model', () => {
    const key = lib.modelKey({ id: 'clip-vit-b32', precision: 'fp32' });
    expect(key).toBe('clip-vit-b32:fp32');
    const tables = () => lib.db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get() as number;
    const before = tables();
    const id = lib.ensureModel(key, 8);
    expect(lib.ensureModel(key, 8)).toBe(id);
    expect(lib.modelId(key)).toBe(id);
    expect(lib.embeddingModel(key)).toEqual({ id, dim: 8 });
    const other = lib.ensureModel('clip-vit-b32:quantized', 8);
    expect(other).not.toBe(id);
    expect(tables()).toBe(before);
    expect(() => lib.ensureModel(key, 16)).toThrow(/8-dimensional/);
    expect(() => lib.embeddingModel('nope:fp32')).toThrow(TriagemError);
    expect(lib.modelId('nope:fp32')).toBeUndefined();
  });

  it('stores, replaces and reads single embeddings; rejects a wrong width', () => {
    const key = 'm:fp32';
    lib.ensureModel(key, 4);
    const c = addContent(lib, 'b'.repeat(64));
    lib.putEmbeddings(key, [{ contentId: c, vector: new Float32Array([1, 0, 0, 0]) }]);
    expect(Array.from(lib.getEmbedding(key, c)!)).toEqual([1, 0, 0, 0]);
    lib.putEmbeddings(key, [{ contentId: c, vector: new Float32Array([0, 1, 0, 0]) }]);
    expect(Array.from(lib.getEmbedding(key, c)!)).toEqual([0, 1, 0, 0]);
    expect(lib.embeddingCount(key)).toBe(1);
    expect(lib.getEmbedding(key, c + 100)).toBeUndefined();
    expect(() => lib.putEmbeddings(key, [{ contentId: c, vector: new Float32Array(3) }])).toThrow(/3 values/);
    // The failed put is one transaction: nothing about the old row changed.
    expect(Array.from(lib.getEmbedding(key, c)!)).toEqual([0, 1, 0, 0]);
  });

  it('loadEmbeddings returns what was put (to 16-bit precision), across deletions and re-inserts', () => {
    const key = 'big:fp32';
    const dim = 12;
    lib.ensureModel(key, dim);
    const n = 2600;
    const truth = new Map<number, Float32Array>();
    lib.putEmbeddings(
      key,
      Array.from({ length: n }, (_, i) => {
        truth.set(i + 1, vectorFor(i + 1, dim));
        return { contentId: i + 1, vector: vectorFor(i + 1, dim) };
      }),
    );
    // Holes, then one id re-used with a new vector and a new id past the end.
    expect(lib.deleteEmbeddings(key, [1, 2, 500, 1025, 1500, 2600, 99999])).toBe(6);
    for (const id of [1, 2, 500, 1025, 1500, 2600]) truth.delete(id);
    lib.putEmbeddings(key, [
      { contentId: 500, vector: vectorFor(9500, dim) },
      { contentId: 7777, vector: vectorFor(7777, dim) },
    ]);
    truth.set(500, vectorFor(9500, dim));
    truth.set(7777, vectorFor(7777, dim));
    const all = lib.loadEmbeddings(key);
    expect(all.dim).toBe(dim);
    expect(all.data.length).toBe(truth.size * dim);
    expect(lib.embeddingCount(key)).toBe(truth.size);
    // The full load is in content id order.
    expect(Array.from(all.contentIds)).toEqual([...truth.keys()].sort((a, b) => a - b));
    all.contentIds.forEach((id, row) => expectStored(all.data.subarray(row * dim, (row + 1) * dim), truth.get(id)!));
    expect(lib.embeddedContentIds(key)).toEqual(new Set(truth.keys()));
    // Streaming in batches yields the same rows; a wanted subset only those.
    const streamed = [...lib.streamEmbeddings(key)];
    expect(streamed.reduce((s, b) => s + b.ids.length, 0)).toBe(truth.size);
    const wanted = new Set([3, 7777, 2000, 1]);
    const some = [...lib.streamEmbeddings(key, wanted)].flatMap((b) => [...b.ids]);
    expect(some.sort((a, b) => a - b)).toEqual([3, 2000, 7777]);

    // A subset comes back in the order asked for, without ids that have no embedding.
    const few = [7777, 3, 2, 1024, 3];
    const got = lib.loadEmbeddings(key, few);
    expect(Array.from(got.contentIds)).toEqual([7777, 3, 1024]);
    got.contentIds.forEach((id, row) => expectStored(got.data.subarray(row * dim, (row + 1) * dim), truth.get(id)!));
    expect(lib.loadEmbeddings(key, []).contentIds.length).toBe(0);
  });

  it('migrates a v1 library: float32 vec0 embeddings to 16-bit rows, search codes split into planes, old tables dropped', () => {
    const file = path.join(dir, 'v1.sqlite');
    const dim = 8;
    const n = 1500; // two of sqlite-vec's 1024-slot chunks
    const old = new Database(file);
    sqliteVec.load(old);
    old.pragma('journal_mode = WAL');
    MIGRATIONS[0](old);
    old.pragma('user_version = 1');
    old.prepare("INSERT INTO models(id, key, dim, created_at) VALUES (1, 'm:fp32', ?, 0)").run(dim);
    old.exec(`CREATE VIRTUAL TABLE emb_1 USING vec0(embedding float[${dim}])`);
    const ins = old.prepare('INSERT INTO emb_1(rowid, embedding) VALUES (?, ?)');
    const truth = new Map<number, Float32Array>();
    old.transaction(() => {
      for (let id = 1; id <= n; id++) {
        old.prepare('INSERT INTO contents(id, sha256, size) VALUES (?, ?, 1)').run(id, id.toString(16).padStart(64, '0'));
        const v = vectorFor(id, dim);
        ins.run(BigInt(id), Buffer.from(v.buffer));
        truth.set(id, v);
      }
      for (const id of [2, 700, 1100]) {
        old.prepare('DELETE FROM emb_1 WHERE rowid = ?').run(BigInt(id));
        truth.delete(id);
      }
    })();
    // The v1 search tables: quantizer, codes with both planes interleaved per image, a 16-bit copy.
    const all = new Float32Array(truth.size * dim);
    const ids = [...truth.keys()];
    ids.forEach((id, i) => all.set(truth.get(id)!, i * dim));
    const params = fitQuantizer(all, dim);
    const plane = planeBytes(dim);
    const interleaved = new Uint8Array(ids.length * 2 * plane);
    ids.forEach((_, i) => encodeRow(params, all, i, interleaved, i * 2 * plane));
    old.exec(`
      CREATE TABLE search_quantizers (model_id INTEGER PRIMARY KEY, version INTEGER NOT NULL, dim INTEGER NOT NULL, fitted_on INTEGER NOT NULL,
        generation INTEGER NOT NULL, params BLOB, updated_at INTEGER NOT NULL);
      CREATE TABLE search_blocks_1 (block INTEGER PRIMARY KEY, ids BLOB NOT NULL, codes BLOB NOT NULL);
      CREATE TABLE search_vectors_1 (content_id INTEGER PRIMARY KEY, vec BLOB NOT NULL);
    `);
    old.prepare('INSERT INTO search_quantizers VALUES (1, 1, ?, ?, 7, ?, 0)').run(dim, ids.length, serializeParams(params));
    old.prepare('INSERT INTO search_blocks_1 VALUES (1, ?, ?)').run(Buffer.from(Int32Array.from(ids).buffer), Buffer.from(interleaved.buffer));
    old.close();

    const migrated = Library.open(file);
    try {
      expect(migrated.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      const tables = migrated.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
      expect(tables.filter((t) => t.startsWith('emb_') || t.startsWith('search_'))).toEqual([]);
      const got = migrated.loadEmbeddings('m:fp32');
      expect(Array.from(got.contentIds)).toEqual(ids);
      got.contentIds.forEach((id, row) => expectStored(got.data.subarray(row * dim, (row + 1) * dim), truth.get(id)!));
      // The carried-over codes are the old ones, split: opening the index has nothing left to encode.
      const { index, sync } = openVectorIndex(migrated, 'm:fp32');
      expect(sync).toMatchObject({ added: 0, removed: 0, rebuilt: false, total: ids.length });
      const codes = index.codes();
      ids.forEach((_, i) => {
        expect(Array.from(codes.signs.subarray(i * plane, (i + 1) * plane))).toEqual(Array.from(interleaved.subarray(i * 2 * plane, i * 2 * plane + plane)));
        expect(Array.from(codes.mags.subarray(i * plane, (i + 1) * plane))).toEqual(Array.from(interleaved.subarray(i * 2 * plane + plane, (i + 1) * 2 * plane)));
      });
    } finally {
      migrated.close();
    }
  });

  it('keeps embeddings of different models apart and across reopening', () => {
    lib.ensureModel('a:fp32', 4);
    lib.ensureModel('a:quantized', 4);
    const c = addContent(lib, 'c'.repeat(64));
    lib.putEmbeddings('a:fp32', [{ contentId: c, vector: new Float32Array([1, 0, 0, 0]) }]);
    lib.putEmbeddings('a:quantized', [{ contentId: c, vector: new Float32Array([0, 0, 0, 1]) }]);
    const file = lib.file;
    lib.close();
    lib = Library.open(file);
    expect(Array.from(lib.loadEmbeddings('a:fp32').data)).toEqual([1, 0, 0, 0]);
    expect(Array.from(lib.loadEmbeddings('a:quantized').data)).toEqual([0, 0, 0, 1]);
    expect(lib.listModels().map((m) => [m.key, m.dim, m.count])).toEqual([
      ['a:fp32', 4, 1],
      ['a:quantized', 4, 1],
    ]);
  });

  it('lists files by folder (including odd characters), extension and presence', () => {
    const root = path.join(dir, 'photos 100%_done');
    const c1 = addContent(lib, '1'.repeat(64));
    const c2 = addContent(lib, '2'.repeat(64));
    addFile(lib, path.join(root, 'a.jpg'), c1);
    addFile(lib, path.join(root, 'sub', 'b.PNG'.toLowerCase()), c2);
    addFile(lib, path.join(root, 'sub', 'copy of a.jpg'), c1, 0);
    addFile(lib, path.join(dir, 'photos 100%Xdone', 'c.jpg'), c2);
    addFile(lib, path.join(dir, 'photos 100%_done-other', 'd.jpg'), c2);
    const emoji = path.join(dir, 'férias 📷 2024');
    addFile(lib, path.join(emoji, 'e.jpg'), c1);
    addFile(lib, path.join(dir, 'férias 📷 2024x', 'f.jpg'), c1);

    const under = lib.listFiles({ folders: [root] }).map((f) => path.relative(root, f.path));
    expect(under).toEqual(['a.jpg', path.join('sub', 'b.png'), path.join('sub', 'copy of a.jpg')]);
    expect(lib.listFiles({ folders: [root + path.sep] }).length).toBe(3);
    expect(lib.listFiles({ folders: [path.join(root, 'sub')], present: true }).map((f) => f.name)).toEqual(['b.png']);
    expect(lib.listFiles({ exts: ['.JPG'] }).length).toBe(6);
    expect(lib.listFiles({ present: false }).map((f) => f.name)).toEqual(['copy of a.jpg']);
    expect(lib.listFiles().length).toBe(7);
    expect(lib.listFiles({ folders: [emoji] }).map((f) => f.name)).toEqual(['e.jpg']);

    const a = lib.fileByPath(path.join(root, 'a.jpg'))!;
    expect(a).toMatchObject({
      folder: root,
      name: 'a.jpg',
      ext: 'jpg',
      size: 10,
      mtimeMs: 1000,
      contentId: c1,
      sha256: '1'.repeat(64),
      format: 'jpeg',
      width: 4,
      height: 3,
      takenAt: 5,
      gpsLat: -23.5,
      gpsLon: -46.6,
      camera: 'Cam',
    });
    expect(lib.fileByPath(path.join(root, 'nope.jpg'))).toBeUndefined();
    expect(lib.filesByContent(c1).map((f) => f.name)).toEqual(['e.jpg', 'f.jpg', 'a.jpg', 'copy of a.jpg']);
    expect(lib.contentIdBySha256('2'.repeat(64))).toBe(c2);
  });

  it('reports which present contents still lack an embedding for a model', () => {
    lib.ensureModel('m:fp32', 2);
    const c1 = addContent(lib, '1'.repeat(64));
    const c2 = addContent(lib, '2'.repeat(64));
    const c3 = addContent(lib, '3'.repeat(64));
    addFile(lib, path.join(dir, 'a.jpg'), c1);
    addFile(lib, path.join(dir, 'b.jpg'), c2);
    addFile(lib, path.join(dir, 'gone.jpg'), c3, 0);
    lib.putEmbeddings('m:fp32', [{ contentId: c1, vector: new Float32Array([1, 0]) }]);
    expect(lib.contentIdsWithoutEmbedding('m:fp32')).toEqual([c2]);
  });

  it('places thumbnails beside the library, fanned out by hash prefix', () => {
    const sha = 'ab'.padEnd(64, '0');
    expect(lib.thumbnailPath(sha)).toBe(path.join(lib.thumbnailsDir, 'ab', `${sha}.webp`));
  });
});
