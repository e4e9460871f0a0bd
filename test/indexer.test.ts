import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { thumbnailFromPixels } from '../src/engine/images/thumbnail.js';
import { decodeImage } from '../src/engine/indexer/decode.js';
import { AsyncQueue, Slots } from '../src/engine/indexer/pipeline.js';
import { indexFolders, type IndexProgress, type IndexSummary } from '../src/engine/indexer/indexer.js';
import { Library } from '../src/engine/library/library.js';
import { dot, loadModel } from '../src/engine/models/model.js';
import { preprocessImage } from '../src/engine/models/preprocess.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { colour, encodeImage, isRoot, snapshot, tempDir, writeImage } from './support/index-fixtures.js';
import { colourModelDir } from './support/models.js';
import { withRawDb } from './support/raw-db.js';
import { OFF_THREAD_HASH_BYTES } from '../src/engine/util/hash.js';

/** The real model, counting every image that reaches the vision tower. */
function counting(model: ClipModel) {
  const counts = { encoded: 0 };
  const wrapped: ClipModel = {
    get info() {
      return model.info;
    },
    tokenize: (text) => model.tokenize(text),
    preprocess: (source) => model.preprocess(source),
    encodeImageTensors: (tensors) => {
      counts.encoded += tensors.length;
      return model.encodeImageTensors(tensors);
    },
    encodeImages: (sources) => {
      counts.encoded += sources.length;
      return model.encodeImages(sources);
    },
    encodeTexts: (texts) => model.encodeTexts(texts),
    scoreLabels: (image, texts) => model.scoreLabels(image, texts),
    warmup: () => model.warmup(),
    close: () => model.close(),
  };
  return { model: wrapped, counts };
}

const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'brown', 'black', 'white', 'gray'];

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function row(lib: Library, file: string) {
  return withRawDb(lib.file, (db) => db.prepare('SELECT * FROM files WHERE path = ?').get(file)) as
    | { id: number; content_id: number; present: number; size: number; mtime_ms: number }
    | undefined;
}

function count(lib: Library, sql: string): number {
  return withRawDb(lib.file, (db) => db.prepare(sql).pluck().get() as number);
}

describe('pipeline primitives', () => {
  it('AsyncQueue serves every waiting consumer and ends them on close or stop', async () => {
    const q = new AsyncQueue<number>();
    const takers = [q.take(), q.take(), q.take()];
    q.push(1);
    q.push(2);
    q.close();
    expect((await Promise.all(takers)).sort()).toEqual([1, 2, undefined]);
    expect(await q.take()).toBeUndefined();
    const s = new AsyncQueue<number>();
    const waiting = s.take();
    s.stop();
    expect(await waiting).toBeUndefined();
    s.push(3);
    expect(await s.take()).toBeUndefined();
  });

  it('Slots bound concurrent holders and release everyone when opened', async () => {
    const slots = new Slots(2);
    await slots.acquire();
    await slots.acquire();
    let third = false;
    const pending = slots.acquire().then(() => (third = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(third).toBe(false);
    slots.release();
    await pending;
    expect(third).toBe(true);
    const blocked = slots.acquire();
    slots.open();
    await blocked;
    await slots.acquire();
  });
});

describe('indexFolders', () => {
  let fp32: ClipModel;
  let colourTexts: Float32Array[];
  const dirs: string[] = [];

  const nearestColour = (embedding: Float32Array) => {
    let best = -1;
    colourTexts.forEach((t, i) => {
      if (best < 0 || dot(embedding, t) > dot(embedding, colourTexts[best])) best = i;
    });
    return COLOURS[best];
  };

  const fresh = (name: string) => {
    const dir = tempDir(name);
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    fp32 = await loadModel(await colourModelDir(), { device: 'cpu', precision: 'fp32', batchSize: 8 });
    colourTexts = await fp32.encodeTexts(COLOURS);
  });

  afterAll(async () => {
    await fp32?.close();
    for (const d of dirs) {
      // Undo permission tricks so the temp tree can be removed.
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('indexes every supported format in nested folders, with metadata, thumbnails and real embeddings', async () => {
    const root = fresh('formats');
    const photos = path.join(root, 'photos');
    const exif = {
      IFD0: { Make: 'Canon', Model: 'Canon EOS 5D Mark IV' },
      IFD2: { DateTimeOriginal: '2021:06:15 14:30:05' },
      IFD3: { GPSLatitudeRef: 'S', GPSLatitude: '23/1 33/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '46/1 38/1 30/1' },
    };
    const files: Record<string, string> = {
      'a.jpg': 'red',
      'sub/b.png': 'green',
      'sub/deeper/c.webp': 'blue',
      'sub/deeper/d.gif': 'yellow',
      'e.tiff': 'purple',
      'f.bmp': 'orange',
      'g.avif': 'pink',
      'sub/no-extension': 'white',
      'rotated.jpg': 'black',
    };
    for (const [rel, name] of Object.entries(files)) {
      await writeImage(path.join(photos, rel), colour(name), {
        format: rel === 'sub/no-extension' ? 'jpeg' : undefined,
        exif: rel === 'a.jpg' ? exif : undefined,
        orientation: rel === 'rotated.jpg' ? 6 : undefined,
        seed: rel.length,
      });
    }
    // AVIF files whose major brand is the generic HEIF one are still AVIF, not HEIC.
    const genericAvif = Buffer.from(await encodeImage(colour('brown'), { format: 'avif', seed: 77 }));
    genericAvif.write('mif1', 8, 'latin1');
    fs.writeFileSync(path.join(photos, 'generic-brand.avif'), genericAvif);
    files['generic-brand.avif'] = 'brown';
    await writeImage(path.join(photos, '.git', 'hidden.jpg'), colour('red'));
    fs.writeFileSync(path.join(photos, 'notes.txt'), 'not an image');
    fs.writeFileSync(path.join(photos, 'clip.mp4'), Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), Buffer.alloc(64)]));
    fs.writeFileSync(path.join(photos, 'phone.heic'), Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic'), Buffer.alloc(64)]));
    const before = snapshot(photos);

    const lib = Library.open(path.join(root, 'lib.sqlite'));
    const { model, counts } = counting(fp32);
    const events: IndexProgress[] = [];
    const summary = await indexFolders({ library: lib, model, folders: [photos], batchSize: 4, onProgress: (p) => events.push(p) });

    expect(summary).toMatchObject({ indexed: 10, skipped: 2, unchanged: 0, reused: 0 });
    expect(summary.failed).toEqual([{ path: path.join(photos, 'phone.heic'), error: expect.stringMatching(/HEIC is not supported by this build/) }]);
    expect(counts.encoded).toBe(10);
    expect(events.some((e) => e.phase === 'scan')).toBe(true);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ phase: 'index', done: 13, total: 13, failed: 1, etaSec: 0 });

    const key = lib.modelKey(model.info);
    const embeddings = lib.loadEmbeddings(key);
    const rows = lib.listFiles();
    expect(rows.map((r) => path.relative(photos, r.path)).sort()).toEqual(Object.keys(files).sort());
    const formats: Record<string, string> = { jpg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif', tiff: 'tiff', bmp: 'bmp', avif: 'avif', '': 'jpeg' };
    for (const r of rows) {
      const rel = path.relative(photos, r.path);
      expect(r.sha256).toBe(sha256(r.path));
      expect(r.format).toBe(formats[r.ext]);
      expect(r.size).toBe(fs.statSync(r.path).size);
      expect(r.mtimeMs).toBe(Math.trunc(fs.statSync(r.path).mtimeMs));
      expect([r.width, r.height]).toEqual(rel === 'rotated.jpg' ? [30, 40] : [40, 30]);
      const row = embeddings.contentIds.indexOf(r.contentId);
      const embedding = embeddings.data.subarray(row * embeddings.dim, (row + 1) * embeddings.dim);
      expect(nearestColour(embedding), rel).toBe(files[rel]);
      // What the indexer stored is what the model makes of the file on its own.
      const [direct] = await fp32.encodeImages([r.path]);
      expect(dot(direct, embedding)).toBeGreaterThan(0.9999);
      const thumb = lib.thumbnailPath(r.sha256);
      const meta = await sharp(thumb).metadata();
      expect(meta.format).toBe('webp');
      expect(Math.max(meta.width, meta.height)).toBeLessThanOrEqual(256);
    }
    const a = lib.fileByPath(path.join(photos, 'a.jpg'))!;
    expect(a.takenAt).toBe(new Date(2021, 5, 15, 14, 30, 5).getTime());
    expect(a.gpsLat).toBeCloseTo(-23.55, 6);
    expect(a.gpsLon).toBeCloseTo(-46.641667, 5);
    expect(a.camera).toBe('Canon EOS 5D Mark IV');
    expect(lib.fileByPath(path.join(photos, 'sub/b.png'))).toMatchObject({ takenAt: null, gpsLat: null, camera: null });
    expect(lib.listFailures()).toEqual([
      { path: path.join(photos, 'phone.heic'), error: expect.stringMatching(/HEIC/), size: expect.any(Number), mtimeMs: expect.any(Number), at: expect.any(Number) },
    ]);
    expect(snapshot(photos)).toEqual(before);
    lib.close();
  });

  it('makes exactly the tensor the model makes, whether or not the thumbnail shares the decode', async () => {
    const spec = fp32.info.image;
    const cases: { w: number; h: number; format: 'jpeg' | 'png'; orientation?: number }[] = [
      { w: 40, h: 30, format: 'jpeg' },
      { w: 1000, h: 750, format: 'jpeg' },
      { w: 301, h: 999, format: 'jpeg' },
      { w: 224, h: 224, format: 'png' },
      { w: 225, h: 500, format: 'png' },
      { w: 17, h: 13, format: 'png' },
      { w: 640, h: 427, format: 'jpeg', orientation: 6 },
    ];
    for (const c of cases) {
      const data = await encodeImage(colour('green'), { width: c.w, height: c.h, format: c.format, orientation: c.orientation, seed: c.w });
      const expected = await preprocessImage(data, spec);
      for (const withThumbnail of [true, false]) {
        const got = await decodeImage(data, 'x', spec, withThumbnail);
        expect(Buffer.compare(Buffer.from(got.tensor.buffer), Buffer.from(expected.buffer)), `${c.w}x${c.h} thumbnail=${withThumbnail}`).toBe(0);
        const rotated = c.orientation === 6;
        expect([got.width, got.height]).toEqual(rotated ? [c.h, c.w] : [c.w, c.h]);
        if (withThumbnail) {
          // The frame the model input was cut from: shortest edge = model size, the whole picture.
          expect(Math.min(got.frame!.width, got.frame!.height), `${c.w}x${c.h}`).toBe(spec.size);
          const thumb = await sharp(await thumbnailFromPixels(got.frame!)).metadata();
          expect(thumb.format).toBe('webp');
          expect(Math.max(thumb.width, thumb.height)).toBeLessThanOrEqual(256);
          expect(Math.max(thumb.width, thumb.height)).toBeGreaterThanOrEqual(Math.min(224, Math.max(c.w, c.h)));
        } else {
          expect(got.frame).toBeUndefined();
        }
      }
    }
    // With transparency: flattened on white like the model's own path.
    const rgba = await sharp({ create: { width: 300, height: 200, channels: 4, background: { r: 200, g: 0, b: 0, alpha: 0.3 } } }).png().toBuffer();
    const got = await decodeImage(rgba, 'x', spec, true);
    expect(Buffer.compare(Buffer.from(got.tensor.buffer), Buffer.from((await preprocessImage(rgba, spec)).buffer))).toBe(0);
    // SigLIP-style squash inputs cannot share the thumbnail decode but must still match.
    const squash = { ...spec, resizeMode: 'squash' as const };
    const wide = await encodeImage(colour('blue'), { width: 500, height: 200, format: 'jpeg' });
    const sq = await decodeImage(wide, 'x', squash, true);
    expect(Buffer.compare(Buffer.from(sq.tensor.buffer), Buffer.from((await preprocessImage(wide, squash)).buffer))).toBe(0);
    expect((await sharp(await thumbnailFromPixels(sq.frame!)).metadata()).width).toBe(256);
  });

  it('reruns incrementally: unchanged files are skipped, renamed and duplicate files reuse embeddings, vanished ones are marked', async () => {
    const root = fresh('incremental');
    const photos = path.join(root, 'photos');
    const names: [string, string][] = [
      ['a.jpg', 'red'],
      ['b.png', 'green'],
      ['sub/x.jpg', 'blue'],
      ['sub/y.jpg', 'yellow'],
      ['c.jpg', 'purple'],
      ['d.webp', 'pink'],
    ];
    for (const [i, [rel, name]] of names.entries()) await writeImage(path.join(photos, rel), colour(name), { seed: 100 + i });
    const lib = Library.open(path.join(root, 'lib.sqlite'));
    const { model, counts } = counting(fp32);
    const run = () => indexFolders({ library: lib, model, folders: [photos], batchSize: 4 });

    expect(await run()).toMatchObject({ indexed: 6, unchanged: 0, reused: 0 });
    expect(counts.encoded).toBe(6);
    const key = lib.modelKey(model.info);
    const firstEmbeddings = lib.loadEmbeddings(key);
    const thumbMtimes = lib.listFiles().map((f) => fs.statSync(lib.thumbnailPath(f.sha256)).mtimeMs);

    counts.encoded = 0;
    expect(await run()).toMatchObject({ indexed: 0, unchanged: 6, reused: 0, skipped: 0, failed: [] });
    expect(counts.encoded).toBe(0);
    expect(lib.listFiles().map((f) => fs.statSync(lib.thumbnailPath(f.sha256)).mtimeMs)).toEqual(thumbMtimes);

    // Rename across folders, copy, delete.
    const blueContent = row(lib, path.join(photos, 'sub/x.jpg'))!.content_id;
    fs.mkdirSync(path.join(photos, 'moved'));
    fs.renameSync(path.join(photos, 'sub/x.jpg'), path.join(photos, 'moved/renamed.jpg'));
    fs.copyFileSync(path.join(photos, 'a.jpg'), path.join(photos, 'a copy.jpg'));
    fs.rmSync(path.join(photos, 'b.png'));
    const s3 = await run();
    expect(s3).toMatchObject({ indexed: 2, reused: 2, unchanged: 4, missing: 2, failed: [] });
    expect(counts.encoded).toBe(0);
    expect(row(lib, path.join(photos, 'moved/renamed.jpg'))).toMatchObject({ content_id: blueContent, present: 1 });
    expect(row(lib, path.join(photos, 'sub/x.jpg'))).toMatchObject({ content_id: blueContent, present: 0 });
    expect(row(lib, path.join(photos, 'b.png'))!.present).toBe(0);
    expect(row(lib, path.join(photos, 'a copy.jpg'))!.content_id).toBe(row(lib, path.join(photos, 'a.jpg'))!.content_id);
    expect(lib.embeddingCount(key)).toBe(6);
    // Nothing about the stored vectors changed.
    const again = lib.loadEmbeddings(key);
    expect(Array.from(again.contentIds)).toEqual(Array.from(firstEmbeddings.contentIds));
    expect(Buffer.compare(Buffer.from(again.data.buffer), Buffer.from(firstEmbeddings.data.buffer))).toBe(0);

    // A file put back is present again without re-encoding.
    await writeImage(path.join(photos, 'b.png'), colour('green'), { seed: 101 });
    counts.encoded = 0;
    expect(await run()).toMatchObject({ indexed: 1, reused: 1 });
    expect(counts.encoded).toBe(0);
    expect(row(lib, path.join(photos, 'b.png'))!.present).toBe(1);

    // New bytes at an old path are encoded; a touched file with the same bytes is not.
    await writeImage(path.join(photos, 'c.jpg'), colour('gray'), { seed: 999 });
    const touched = path.join(photos, 'd.webp');
    fs.utimesSync(touched, new Date(), new Date(Date.now() + 5000));
    const oldC = row(lib, path.join(photos, 'c.jpg'))!.content_id;
    const s5 = await run();
    expect(s5).toMatchObject({ indexed: 2, reused: 1 });
    expect(counts.encoded).toBe(1);
    const newC = lib.fileByPath(path.join(photos, 'c.jpg'))!;
    expect(newC.contentId).not.toBe(oldC);
    expect(nearestColour(lib.getEmbedding(key, newC.contentId)!)).toBe('gray');
    expect(row(lib, touched)!.mtime_ms).toBe(Math.trunc(fs.statSync(touched).mtimeMs));

    // Identical bytes at several new paths in one run are encoded once.
    const dupe = await encodeImage(colour('brown'), { format: 'jpeg', seed: 4242 });
    for (const rel of ['dupes/one.jpg', 'dupes/two.jpg', 'dupes/deep/three.jpg']) {
      fs.mkdirSync(path.dirname(path.join(photos, rel)), { recursive: true });
      fs.writeFileSync(path.join(photos, rel), dupe);
    }
    counts.encoded = 0;
    expect(await run()).toMatchObject({ indexed: 3, reused: 2 });
    expect(counts.encoded).toBe(1);
    const dupeRows = lib.listFiles({ folders: [path.join(photos, 'dupes')] });
    expect(new Set(dupeRows.map((r) => r.contentId)).size).toBe(1);
    expect(count(lib, 'SELECT count(*) FROM files')).toBe(count(lib, 'SELECT count(DISTINCT path) FROM files'));
    expect(lib.embeddingCount(key)).toBe(count(lib, 'SELECT count(*) FROM contents'));
    lib.close();
  });

  it('reports unreadable, corrupt, truncated, empty and mislabelled files and indexes the rest', async () => {
    const root = fresh('bad');
    const photos = path.join(root, 'photos');
    await writeImage(path.join(photos, 'good1.jpg'), colour('red'));
    await writeImage(path.join(photos, 'sub/good2.png'), colour('blue'));
    const big = await encodeImage(colour('green'), { width: 400, height: 300, format: 'jpeg' });
    fs.writeFileSync(path.join(photos, 'truncated.jpg'), big.subarray(0, Math.floor(big.length * 0.6)));
    fs.writeFileSync(path.join(photos, 'corrupt.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 0x5a)]));
    fs.writeFileSync(path.join(photos, 'zero.png'), Buffer.alloc(0));
    fs.writeFileSync(path.join(photos, 'text.jpg'), 'hello, I am not a JPEG');
    fs.writeFileSync(path.join(photos, 'corrupt.bmp'), Buffer.concat([Buffer.from('BM'), Buffer.alloc(60, 1)]));
    fs.symlinkSync('loop.jpg', path.join(photos, 'loop.jpg'));
    const expected: Record<string, RegExp> = {
      'truncated.jpg': /corrupt or truncated|cannot decode/,
      'corrupt.jpg': /corrupt or truncated|cannot decode/,
      'zero.png': /empty file \(0 bytes\)/,
      'text.jpg': /not a valid image/,
      'corrupt.bmp': /corrupt BMP|cannot decode|corrupt/,
      'loop.jpg': /symbolic links/,
    };
    if (!isRoot) {
      await writeImage(path.join(photos, 'locked.jpg'), colour('green'));
      fs.chmodSync(path.join(photos, 'locked.jpg'), 0o000);
      expected['locked.jpg'] = /permission denied/;
    }
    const before = snapshot(photos);
    const lib = Library.open(path.join(root, 'lib.sqlite'));
    const { model, counts } = counting(fp32);
    const summary = await indexFolders({ library: lib, model, folders: [photos], batchSize: 2 });
    expect(summary.indexed).toBe(2);
    expect(counts.encoded).toBe(2);
    const failed = Object.fromEntries(summary.failed.map((f) => [path.relative(photos, f.path), f.error]));
    expect(Object.keys(failed).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, pattern] of Object.entries(expected)) expect(failed[name], name).toMatch(pattern);
    expect(lib.listFailures().map((f) => path.relative(photos, f.path)).sort()).toEqual(Object.keys(expected).sort());
    expect(lib.listFiles().map((f) => f.name).sort()).toEqual(['good1.jpg', 'good2.png']);
    expect(snapshot(photos)).toEqual(before);

    // Fixing a file clears its failure; breaking an indexed one marks its row absent.
    fs.writeFileSync(path.join(photos, 'truncated.jpg'), big);
    fs.writeFileSync(path.join(photos, 'good1.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(500, 7)]));
    fs.rmSync(path.join(photos, 'zero.png'));
    const again = await indexFolders({ library: lib, model, folders: [photos], batchSize: 2 });
    expect(again.indexed).toBe(1);
    const paths = lib.listFailures().map((f) => path.relative(photos, f.path));
    expect(paths).toContain('good1.jpg');
    expect(paths).not.toContain('truncated.jpg');
    expect(paths).not.toContain('zero.png');
    expect(row(lib, path.join(photos, 'good1.jpg'))!.present).toBe(0);
    expect(nearestColour(lib.getEmbedding(lib.modelKey(model.info), lib.fileByPath(path.join(photos, 'truncated.jpg'))!.contentId)!)).toBe('green');
    if (!isRoot) fs.chmodSync(path.join(photos, 'locked.jpg'), 0o644);
    lib.close();
  });

  it('keeps each model’s embeddings intact when the model changes', async () => {
    const root = fresh('models');
    const photos = path.join(root, 'photos');
    for (const [i, name] of ['red', 'green', 'blue', 'yellow', 'purple'].entries()) await writeImage(path.join(photos, `${name}.jpg`), colour(name), { seed: i });
    const lib = Library.open(path.join(root, 'lib.sqlite'));
    const a = counting(fp32);
    await indexFolders({ library: lib, model: a.model, folders: [photos] });
    const keyA = lib.modelKey(fp32.info);
    const before = lib.loadEmbeddings(keyA);

    const quantized = await loadModel(await colourModelDir(), { device: 'cpu', precision: 'quantized' });
    try {
      const b = counting(quantized);
      const keyB = lib.modelKey(quantized.info);
      expect(keyB).not.toBe(keyA);
      const s = await indexFolders({ library: lib, model: b.model, folders: [photos] });
      // Known files, but nothing embedded for this model yet: all encoded, none "unchanged".
      expect(s).toMatchObject({ indexed: 5, unchanged: 0, reused: 0 });
      expect(b.counts.encoded).toBe(5);
      expect(lib.embeddingCount(keyB)).toBe(5);
      for (const f of lib.listFiles()) expect(nearestColour(lib.getEmbedding(keyB, f.contentId)!)).toBe(f.name.replace('.jpg', ''));
      b.counts.encoded = 0;
      expect(await indexFolders({ library: lib, model: b.model, folders: [photos] })).toMatchObject({ unchanged: 5 });
      expect(b.counts.encoded).toBe(0);
    } finally {
      await quantized.close();
    }
    const after = lib.loadEmbeddings(keyA);
    expect(Array.from(after.contentIds)).toEqual(Array.from(before.contentIds));
    expect(Buffer.compare(Buffer.from(after.data.buffer), Buffer.from(before.data.buffer))).toBe(0);
    a.counts.encoded = 0;
    expect(await indexFolders({ library: lib, model: a.model, folders: [photos] })).toMatchObject({ unchanged: 5, indexed: 0 });
    expect(a.counts.encoded).toBe(0);
    lib.close();
  });

  it('stops on abort after committing finished batches; a rerun completes without duplicates', async () => {
    const root = fresh('abort');
    const photos = path.join(root, 'photos');
    const n = 48;
    for (let i = 0; i < n; i++) await writeImage(path.join(photos, `p${String(i).padStart(2, '0')}.png`), colour(COLOURS[i % COLOURS.length]), { seed: 1000 + i });
    const lib = Library.open(path.join(root, 'lib.sqlite'));
    const controller = new AbortController();
    const { model, counts } = counting(fp32);
    const first = await indexFolders({
      library: lib,
      model,
      folders: [photos],
      batchSize: 4,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'index' && p.done >= 4) controller.abort();
      },
    });
    expect(first.cancelled).toBe(true);
    expect(first.indexed).toBeGreaterThanOrEqual(4);
    expect(first.indexed).toBeLessThan(n);
    expect(count(lib, 'SELECT count(*) FROM files')).toBe(first.indexed);
    // Thumbnails wait for their batch's commit; a stopped run still makes those of what it committed.
    for (const f of lib.listFiles()) expect(fs.existsSync(lib.thumbnailPath(f.sha256)), f.path).toBe(true);

    counts.encoded = 0;
    const second: IndexSummary = await indexFolders({ library: lib, model, folders: [photos], batchSize: 4 });
    expect(second.cancelled).toBeUndefined();
    expect(second.unchanged).toBe(first.indexed);
    expect(second.indexed).toBe(n - first.indexed);
    expect(counts.encoded).toBe(n - first.indexed);
    expect(count(lib, 'SELECT count(*) FROM files')).toBe(n);
    expect(count(lib, 'SELECT count(*) FROM contents')).toBe(n);
    expect(lib.embeddingCount(lib.modelKey(model.info))).toBe(n);
    lib.close();
  });

  it('hashes files over the off-thread size on a worker and still decodes, links and thumbnails their bytes', async () => {
    const photos = fresh('large-files');
    // Noise compresses badly: a 1400×1000 JPEG at quality 95 is several MB.
    const big = await sharp({ create: { width: 1400, height: 1000, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
      .jpeg({ quality: 95 })
      .toBuffer();
    expect(big.length).toBeGreaterThan(OFF_THREAD_HASH_BYTES);
    fs.mkdirSync(path.join(photos, 'copies'), { recursive: true });
    fs.writeFileSync(path.join(photos, 'big.jpg'), big);
    fs.writeFileSync(path.join(photos, 'copies', 'big copy.jpg'), big);
    await writeImage(path.join(photos, 'small.jpg'), colour('blue'));
    const lib = Library.open(path.join(photos, 'lib.sqlite'));
    const { model, counts } = counting(fp32);
    const summary = await indexFolders({ library: lib, model, folders: [photos], batchSize: 2 });
    expect(summary).toMatchObject({ indexed: 3, reused: 1, failed: [], warnings: [] });
    expect(counts.encoded).toBe(2);
    const rows = lib.listFiles();
    const bigRows = rows.filter((r) => r.path.includes('big'));
    expect(bigRows.map((r) => r.sha256)).toEqual([sha256(path.join(photos, 'big.jpg')), sha256(path.join(photos, 'big.jpg'))]);
    expect([bigRows[0].width, bigRows[0].height]).toEqual([1400, 1000]);
    expect((await sharp(lib.thumbnailPath(bigRows[0].sha256)).metadata()).width).toBe(256);
    // The embedding is the model's own for the file: the bytes came back whole from the hashing thread.
    const embeddings = lib.loadEmbeddings(lib.modelKey(model.info));
    const at = embeddings.contentIds.indexOf(bigRows[0].contentId);
    const [direct] = await fp32.encodeImages([path.join(photos, 'big.jpg')]);
    expect(dot(direct, embeddings.data.subarray(at * embeddings.dim, (at + 1) * embeddings.dim))).toBeGreaterThan(0.9999);
    lib.close();
  });

  it('leaves out its own library and thumbnails, hidden folders and link loops inside the indexed folder', async () => {
    const photos = fresh('self');
    await writeImage(path.join(photos, 'a.jpg'), colour('red'));
    await writeImage(path.join(photos, 'deep/b.jpg'), colour('blue'));
    await writeImage(path.join(photos, '.cache/c.jpg'), colour('green'));
    fs.symlinkSync(photos, path.join(photos, 'deep', 'loop'));
    fs.symlinkSync(path.join(photos, 'deep'), path.join(photos, 'alias'));
    const lib = Library.open(path.join(photos, 'triagem.sqlite'));
    const { model } = counting(fp32);
    const first = await indexFolders({ library: lib, model, folders: [photos] });
    expect(first).toMatchObject({ indexed: 2, skipped: 0, failed: [] });
    expect(fs.readdirSync(lib.thumbnailsDir).length).toBeGreaterThan(0);
    const second = await indexFolders({ library: lib, model, folders: [photos, path.join(photos, 'deep')] });
    expect(second).toMatchObject({ indexed: 0, unchanged: 2, skipped: 0, failed: [] });
    // Reachable through links too, but recorded under their real paths.
    expect(lib.listFiles().map((f) => path.relative(photos, f.path))).toEqual(['a.jpg', path.join('deep', 'b.jpg')]);
    // An excluded subfolder (a sort destination inside the source) is neither indexed nor marked gone.
    await writeImage(path.join(photos, 'sorted/red/a-copy.jpg'), colour('red'), { seed: 9 });
    const third = await indexFolders({ library: lib, model, folders: [photos], exclude: [path.join(photos, 'deep'), path.join(photos, 'sorted')] });
    expect(third).toMatchObject({ indexed: 0, unchanged: 1, missing: 0 });
    expect(lib.fileByPath(path.join(photos, 'deep', 'b.jpg'))).toBeDefined();
    expect(lib.listFiles({ present: true }).length).toBe(2);
    lib.close();
  });

  it('fails the job on a model error without hanging, keeping the batches committed before it', async () => {
    const root = fresh('fatal');
    const photos = path.join(root, 'photos');
    for (let i = 0; i < 20; i++) await writeImage(path.join(photos, `p${i}.jpg`), colour(COLOURS[i % COLOURS.length]), { seed: 500 + i });
    const lib = Library.open(path.join(root, 'lib.sqlite'));
    let calls = 0;
    const { model } = counting(fp32);
    const broken: ClipModel = Object.assign(Object.create(model) as ClipModel, {
      encodeImageTensors: (tensors: readonly Float32Array[]) => {
        calls++;
        if (calls === 2) return Promise.reject(new Error('simulated inference failure'));
        return model.encodeImageTensors(tensors);
      },
    });
    Object.defineProperty(broken, 'info', { get: () => fp32.info });
    await expect(indexFolders({ library: lib, model: broken, folders: [photos], batchSize: 4 })).rejects.toThrow(/simulated inference failure/);
    expect(count(lib, 'SELECT count(*) FROM files')).toBe(4);
    expect(lib.embeddingCount(lib.modelKey(fp32.info))).toBe(4);
    const rerun = await indexFolders({ library: lib, model, folders: [photos], batchSize: 4 });
    expect(rerun).toMatchObject({ unchanged: 4, indexed: 16 });
    lib.close();
  });

  it('names a missing folder instead of marking everything gone', async () => {
    const root = fresh('missing');
    const lib = Library.open(path.join(root, 'lib.sqlite'));
    await expect(indexFolders({ library: lib, model: fp32, folders: [path.join(root, 'nope')] })).rejects.toThrow(/nope: folder not found/);
    lib.close();
  });
});

