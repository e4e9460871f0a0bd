import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TriagemError } from '../src/engine/errors.js';
import { Library } from '../src/engine/library/library.js';
import { SCHEMA_VERSION } from '../src/engine/library/migrations.js';

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
  return Number(lib.db.prepare('INSERT INTO contents(sha256, size, format, width, height) VALUES (?, 10, ?, 4, 3)').run(sha, 'jpeg').lastInsertRowid);
}

function addFile(lib: Library, filePath: string, contentId: number, present = 1): void {
  lib.db
    .prepare(
      `INSERT INTO files(path, folder, name, ext, size, mtime_ms, content_id, taken_at, gps_lat, gps_lon, camera, indexed_at, present)
       VALUES (?, ?, ?, ?, 10, 1000, ?, 5, -23.5, -46.6, 'Cam', 1, ?)`,
    )
    .run(filePath, path.dirname(filePath), path.basename(filePath), path.extname(filePath).slice(1).toLowerCase(), contentId, present);
}

/** What vec0 itself returns when scanned through its virtual-table cursor. */
function vec0Scan(lib: Library, key: string): Map<number, Float32Array> {
  const rows = lib.db.prepare(`SELECT rowid, embedding FROM ${lib.embeddingTable(key)}`).raw().all() as [number, Buffer][];
  return new Map(rows.map(([id, b]) => [id, new Float32Array(Uint8Array.from(b).buffer)]));
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

  it('creates the file and folders, in WAL mode, with sqlite-vec loaded and the current schema', () => {
    expect(fs.existsSync(lib.file)).toBe(true);
    expect(lib.file).toBe(path.join(dir, 'nested', 'deeper', 'lib.sqlite'));
    expect(lib.thumbnailsDir).toBe(path.join(dir, 'nested', 'deeper', 'lib.sqlite.thumbs'));
    expect(lib.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(lib.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(2);
    expect(lib.db.prepare('SELECT vec_version()').pluck().get()).toMatch(/^v0\./);
    const cols = (t: string) => (lib.db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name);
    expect(cols('contents')).toEqual(['id', 'sha256', 'size', 'format', 'width', 'height']);
    expect(cols('files')).toEqual([
      'id', 'path', 'folder', 'name', 'ext', 'size', 'mtime_ms', 'content_id', 'taken_at', 'gps_lat', 'gps_lon', 'camera', 'indexed_at', 'present',
    ]);
    expect(cols('failures')).toEqual(['path', 'error', 'size', 'mtime_ms', 'at']);
    expect(cols('models')).toEqual(['id', 'key', 'dim', 'created_at']);
    expect(cols('sort_runs')).toEqual(['id', 'model_key', 'labels', 'threshold', 'created_at']);
    expect(cols('sort_results')).toEqual(['run_id', 'content_id', 'label', 'score']);
    expect(cols('tags')).toEqual(['content_id', 'tag']);
    const indexes = (lib.db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'files' AND sql IS NOT NULL").pluck().all() as string[]).join('\n');
    expect(indexes).toMatch(/files\(content_id\)/);
    expect(indexes).toMatch(/files\(folder\)/);
  });

  it('reopens an existing library without re-running migrations and keeps its data', () => {
    addContent(lib, 'a'.repeat(64));
    lib.close();
    lib = Library.open(path.join(dir, 'nested', 'deeper', 'lib.sqlite'));
    expect(lib.counts().contents).toBe(1);
  });

  it('refuses a library from a newer schema and a file that is not a library, naming the file', () => {
    lib.db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
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

  it('keys models by id:precision and gives each its own vec0 table', () => {
    const key = lib.modelKey({ id: 'clip-vit-b32', precision: 'fp32' });
    expect(key).toBe('clip-vit-b32:fp32');
    const id = lib.ensureModel(key, 8);
    expect(lib.ensureModel(key, 8)).toBe(id);
    expect(lib.modelId(key)).toBe(id);
    expect(lib.embeddingTable(key)).toBe(`emb_${id}`);
    const sql = lib.db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').pluck().get(`emb_${id}`) as string;
    expect(sql).toMatch(/USING vec0\(embedding float\[8\]\)/);
    const other = lib.ensureModel('clip-vit-b32:quantized', 8);
    expect(other).not.toBe(id);
    expect(() => lib.ensureModel(key, 16)).toThrow(/8-dimensional/);
    expect(() => lib.embeddingTable('nope:fp32')).toThrow(TriagemError);
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

  it('loadEmbeddings matches what vec0 returns, across chunks, deletions and re-inserts', () => {
    const key = 'big:fp32';
    const dim = 12;
    lib.ensureModel(key, dim);
    const n = 2600; // three of sqlite-vec's 1024-slot chunks
    lib.putEmbeddings(
      key,
      Array.from({ length: n }, (_, i) => ({ contentId: i + 1, vector: vectorFor(i + 1, dim) })),
    );
    // Holes in the chunks, then some slots reused and a new id past the end.
    const del = lib.db.prepare(`DELETE FROM ${lib.embeddingTable(key)} WHERE rowid = ?`);
    for (const id of [1, 2, 500, 1025, 1500, 2600]) del.run(BigInt(id));
    lib.putEmbeddings(key, [
      { contentId: 500, vector: vectorFor(9500, dim) },
      { contentId: 7777, vector: vectorFor(7777, dim) },
    ]);
    const truth = vec0Scan(lib, key);
    const all = lib.loadEmbeddings(key);
    expect(all.dim).toBe(dim);
    expect(all.contentIds.length).toBe(truth.size);
    expect(all.data.length).toBe(truth.size * dim);
    expect(lib.embeddingCount(key)).toBe(truth.size);
    expect(new Set(all.contentIds)).toEqual(new Set(truth.keys()));
    all.contentIds.forEach((id, row) => {
      expect(Array.from(all.data.subarray(row * dim, (row + 1) * dim))).toEqual(Array.from(truth.get(id)!));
    });
    expect(Array.from(all.data.subarray(all.contentIds.indexOf(500) * dim, all.contentIds.indexOf(500) * dim + dim))).toEqual(Array.from(vectorFor(9500, dim)));
    expect(lib.embeddedContentIds(key)).toEqual(new Set(truth.keys()));

    // A subset comes back in the order asked for, without ids that have no embedding, through
    // both the point-lookup path (few ids) and the chunk-stream path (many ids).
    const few = [7777, 3, 2, 1024, 3];
    const some = lib.loadEmbeddings(key, few);
    expect(Array.from(some.contentIds)).toEqual([7777, 3, 1024]);
    const many = Array.from({ length: 1500 }, (_, i) => 2600 - i * 1.5).map(Math.floor);
    const big = lib.loadEmbeddings(key, many);
    const expectedIds = [...new Set(many)].filter((id) => truth.has(id));
    expect(Array.from(big.contentIds)).toEqual(expectedIds);
    for (const got of [some, big]) {
      got.contentIds.forEach((id, row) => {
        expect(Array.from(got.data.subarray(row * dim, (row + 1) * dim))).toEqual(Array.from(truth.get(id)!));
      });
    }
    expect(lib.loadEmbeddings(key, []).contentIds.length).toBe(0);
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
