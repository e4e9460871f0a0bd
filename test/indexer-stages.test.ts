// The indexer's stages one by one: the plan's triage, the worker helpers, progress counting, and the
// read → decode → commit hand-offs on a real library and the colour model.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchStage, encodeAndCommit } from '../src/engine/indexer/commit.js';
import { decodeStage } from '../src/engine/indexer/decode-stage.js';
import { AsyncQueue, serveQueue, workThrough } from '../src/engine/indexer/pipeline.js';
import { triage } from '../src/engine/indexer/plan.js';
import { IndexProgressTracker } from '../src/engine/indexer/progress.js';
import { readStage } from '../src/engine/indexer/read-stage.js';
import type { ScannedFile } from '../src/engine/indexer/scan.js';
import { IndexRun } from '../src/engine/indexer/state.js';
import { IndexStore, type KnownFile } from '../src/engine/indexer/store.js';
import { ThumbnailQueue } from '../src/engine/indexer/thumbnails.js';
import type { IndexProgress, IndexSummary, IndexTuning, WorkItem } from '../src/engine/indexer/types.js';
import type { RawPixels } from '../src/engine/images/thumbnail.js';
import { Library } from '../src/engine/library/library.js';
import { loadModel } from '../src/engine/models/model.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { colour, tempDir, writeImage } from './support/index-fixtures.js';
import { colourModelDir } from './support/models.js';

function scanned(p: string, size = 100, mtimeMs = 1000): ScannedFile {
  return { path: p, folder: path.dirname(p), name: path.basename(p), ext: path.extname(p).slice(1), size, mtimeMs };
}

function known(id: number, p: string, contentId: number, opts: Partial<KnownFile> = {}): KnownFile {
  return { id, path: p, size: 100, mtimeMs: 1000, contentId, present: true, ...opts };
}

describe('plan: triage against the library', () => {
  it('skips files with the same size, mtime and an embedding; everything else is work', () => {
    const files = [scanned('/p/same.jpg'), scanned('/p/bigger.jpg', 101), scanned('/p/touched.jpg', 100, 2000), scanned('/p/unembedded.jpg'), scanned('/p/new.jpg')];
    const lib = new Map([
      ['/p/same.jpg', known(1, '/p/same.jpg', 10)],
      ['/p/bigger.jpg', known(2, '/p/bigger.jpg', 10)],
      ['/p/touched.jpg', known(3, '/p/touched.jpg', 10)],
      ['/p/unembedded.jpg', known(4, '/p/unembedded.jpg', 11)],
    ]);
    const t = triage(files, lib, new Set([10]));
    expect(t.unchanged).toBe(1);
    expect(t.work.map((w) => path.basename(w.file.path))).toEqual(['bigger.jpg', 'touched.jpg', 'unembedded.jpg', 'new.jpg']);
    expect(t.work.map((w) => w.previous?.id)).toEqual([2, 3, 4, undefined]);
    expect(t.revive).toEqual([]);
    expect(t.gone).toEqual([]);
  });

  it('revives unchanged files marked absent, and marks gone only present files outside the excluded folders', () => {
    const files = [scanned('/p/back.jpg')];
    const lib = new Map([
      ['/p/back.jpg', known(1, '/p/back.jpg', 10, { present: false })],
      ['/p/vanished.jpg', known(2, '/p/vanished.jpg', 10)],
      ['/p/already-absent.jpg', known(3, '/p/already-absent.jpg', 10, { present: false })],
      ['/p/out/inside-excluded.jpg', known(4, '/p/out/inside-excluded.jpg', 10)],
      // A sibling whose name only starts like the excluded folder is not inside it.
      ['/p/outside.jpg', known(5, '/p/outside.jpg', 10)],
      ['/p/out', known(6, '/p/out', 10)],
    ]);
    const t = triage(files, lib, new Set([10]), ['/p/out']);
    expect(t.unchanged).toBe(1);
    expect(t.revive).toEqual([1]);
    expect(t.gone.sort()).toEqual([2, 5]);
  });
});

describe('pipeline workers', () => {
  it('workThrough keeps at most `count` items in flight, takes them in order, and goes on after an error', async () => {
    let inFlight = 0;
    let peak = 0;
    const started: number[] = [];
    const errors: unknown[] = [];
    await workThrough(
      Array.from({ length: 10 }, (_, i) => i),
      3,
      async (i) => {
        started.push(i);
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        if (i === 4) throw new Error('item 4');
      },
      { stopped: () => false, onError: (e) => errors.push(e) },
    );
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(peak).toBe(3);
    expect(errors.map(String)).toEqual(['Error: item 4']);
  });

  it('workThrough takes nothing more once stopped', async () => {
    const done: number[] = [];
    let stop = false;
    await workThrough(
      [1, 2, 3, 4, 5],
      1,
      async (i) => {
        done.push(i);
        if (i === 2) stop = true;
      },
      { stopped: () => stop, onError: () => undefined },
    );
    expect(done).toEqual([1, 2]);
  });

  it('serveQueue serves every item until the queue closes, and survives a failing item', async () => {
    const q = new AsyncQueue<number>();
    const seen: number[] = [];
    const errors: unknown[] = [];
    const serving = serveQueue(
      q,
      2,
      async (n) => {
        if (n === 3) throw new Error('three');
        seen.push(n);
      },
      (e) => errors.push(e),
    );
    for (let i = 1; i <= 5; i++) q.push(i);
    q.close();
    await serving;
    expect(seen.sort()).toEqual([1, 2, 4, 5]);
    expect(errors).toHaveLength(1);
  });
});

describe('progress', () => {
  it('counts settled and committed files, forces an event per commit, and gives rate and ETA from commits only', () => {
    let clock = 0;
    const events: IndexProgress[] = [];
    const failed: { path: string; error: string }[] = [];
    const p = new IndexProgressTracker((e) => events.push(e), failed, () => clock);
    p.start(100, 20);
    expect(events.at(-1)).toMatchObject({ phase: 'index', done: 20, total: 100, ratePerSec: 0, etaSec: null });
    failed.push({ path: '/x', error: 'bad' });
    p.settled(); // throttled: right after the forced start event
    expect(events).toHaveLength(1);
    clock = 2000;
    p.committed(10, '/p/last.jpg');
    // 10 files in 2 s; the failed file is settled but not a commit sample.
    expect(events.at(-1)).toMatchObject({ done: 31, failed: 1, current: '/p/last.jpg' });
    expect(events.at(-1)!.ratePerSec).toBeCloseTo((31 - 20) / 2, 6);
    expect(events.at(-1)!.etaSec).toBeCloseTo(69 / 5.5, 6);
    p.committed(69, undefined);
    expect(events.at(-1)).toMatchObject({ done: 100, etaSec: 0, current: '/p/last.jpg' });
  });
});

describe('read → decode → commit on a real library', () => {
  let model: ClipModel;
  const dirs: string[] = [];

  beforeAll(async () => {
    model = await loadModel(await colourModelDir(), { device: 'cpu', precision: 'fp32', batchSize: 4 });
  });
  afterAll(async () => {
    await model?.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  function setup(m: ClipModel = model, opts: { thumbnails?: boolean; tuning?: IndexTuning } = {}) {
    const dir = tempDir('stages');
    dirs.push(dir);
    const library = Library.open(path.join(dir, 'lib.sqlite'));
    const key = library.modelKey(m.info);
    library.ensureModel(key, m.info.dim);
    const summary: IndexSummary = { indexed: 0, skipped: 0, unchanged: 0, reused: 0, failed: [], warnings: [], durationMs: 0 };
    const run = new IndexRun({
      library,
      model: m,
      key,
      store: new IndexStore(library),
      batchSize: 4,
      thumbnails: opts.thumbnails ?? false,
      progress: new IndexProgressTracker(undefined, summary.failed),
      summary,
      embedded: library.embeddedContentIds(key),
      tuning: opts.tuning,
    });
    return { dir, library, run };
  }

  async function item(file: string): Promise<WorkItem> {
    const st = fs.statSync(file);
    return { file: { ...scanned(file, st.size, Math.trunc(st.mtimeMs)) }, previous: undefined };
  }

  it('routes by content: a copy joins the content in flight, a non-image is skipped; one commit writes both rows', async () => {
    const { dir, library, run } = setup();
    const a = path.join(dir, 'a.jpg');
    const copy = path.join(dir, 'copy.jpg');
    await writeImage(a, colour('red'));
    fs.copyFileSync(a, copy);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image');

    await readStage(run, await item(a));
    await readStage(run, await item(copy));
    await readStage(run, await item(path.join(dir, 'notes.txt')));
    expect(run.summary.skipped).toBe(1);
    expect(run.inflight.size).toBe(1);
    const [content] = run.inflight.values();
    expect(content.files.map((e) => path.basename(e.file.path))).toEqual(['a.jpg', 'copy.jpg']);

    const job = await run.toDecode.take();
    await decodeStage(run, job!);
    expect(content.tensor?.length).toBe(3 * model.info.image.size ** 2);
    run.toCommit.close();
    await batchStage(run);
    expect(run.fatal).toBeUndefined();
    expect(run.summary).toMatchObject({ indexed: 2, reused: 1 });
    expect(run.inflight.size).toBe(0);
    expect(library.embeddedContentIds(run.key).size).toBe(1);

    library.close();
  });

  it('a copy of committed content becomes a link; the decoders get nothing', async () => {
    const { dir, library, run } = setup();
    const a = path.join(dir, 'a.png');
    await writeImage(a, colour('blue'));
    await readStage(run, await item(a));
    await decodeStage(run, (await run.toDecode.take())!);
    const encode = await run.toCommit.take();
    expect(encode?.kind).toBe('encode');
    await encodeAndCommit(run, encode?.kind === 'encode' ? [encode.content] : [], []);

    const b = path.join(dir, 'b.png');
    fs.copyFileSync(a, b);
    await readStage(run, await item(b));
    const link = await run.toCommit.take();
    expect(link).toMatchObject({ kind: 'link' });
    run.toDecode.close();
    expect(await run.toDecode.take()).toBeUndefined();
    library.close();
  });

  it('an undecodable image fails every path holding its bytes, with the reason, and frees its slots', async () => {
    const { dir, library, run } = setup();
    const bad = path.join(dir, 'bad.jpg');
    const twin = path.join(dir, 'twin.jpg');
    // A JPEG signature with nothing decodable after it.
    fs.writeFileSync(bad, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 7)]));
    fs.copyFileSync(bad, twin);
    await readStage(run, await item(bad));
    await readStage(run, await item(twin));
    await decodeStage(run, (await run.toDecode.take())!);
    expect(run.summary.failed.map((f) => path.basename(f.path)).sort()).toEqual(['bad.jpg', 'twin.jpg']);
    expect(run.summary.failed[0].error).not.toContain(dir);
    expect(run.failures).toHaveLength(2);
    expect(run.inflight.size).toBe(0);
    library.close();
  });

  it('commits nothing of a batch whose embeddings do not come back whole', async () => {
    const short: ClipModel = Object.create(model, {
      encodeImageTensors: { value: async (t: readonly Float32Array[]) => (await model.encodeImageTensors(t)).slice(1) },
    });
    const { dir, library, run } = setup(short);
    for (const [name, c] of [['r.jpg', 'red'], ['g.jpg', 'green']] as const) {
      const f = path.join(dir, name);
      await writeImage(f, colour(c));
      await readStage(run, await item(f));
      await decodeStage(run, (await run.toDecode.take())!);
    }
    run.failures.push({ path: path.join(dir, 'x.jpg'), error: 'unreadable', size: null, mtimeMs: null, previousId: undefined });
    const batch = [(await run.toCommit.take())!, (await run.toCommit.take())!].flatMap((r) => (r.kind === 'encode' ? [r.content] : []));
    await expect(encodeAndCommit(run, batch, [])).rejects.toThrow(/returned 1 embeddings for 2 images/);
    expect(library.embeddedContentIds(run.key).size).toBe(0);
    expect(library.listFiles({ present: true })).toHaveLength(0);
    // The failures wait for the next transaction instead of being lost.
    expect(run.failures).toHaveLength(1);
    library.close();
  });

  it('the decode keeps the frame; its thumbnail is queued once the batch is committed and made when production ends', async () => {
    const { dir, library, run } = setup(model, { thumbnails: true });
    const a = path.join(dir, 'a.jpg');
    await writeImage(a, colour('red'), { width: 400, height: 300 });
    await readStage(run, await item(a));
    await decodeStage(run, (await run.toDecode.take())!);
    const [content] = run.inflight.values();
    expect(Math.min(content.frame!.width, content.frame!.height)).toBe(model.info.image.size);
    expect(run.thumbnails.queued).toBe(0);
    const thumb = library.thumbnailPath(content.sha256);

    const encode = await run.toCommit.take();
    await encodeAndCommit(run, encode?.kind === 'encode' ? [encode.content] : [], []);
    expect(content.frame).toBeUndefined();
    // Committed, but the decoders are not a batch ahead and production goes on: it waits.
    expect(run.thumbnails.queued).toBe(1);
    expect(fs.existsSync(thumb)).toBe(false);
    run.produced();
    expect(run.thumbnails.queued).toBe(0);
    await run.thumbnails.drain();
    const meta = await sharp(thumb).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 256, 192]);
    library.close();
  });

  it('the inline arrangement (the old way, for the benchmark) encodes the thumbnail as soon as the image decodes', async () => {
    const { dir, library, run } = setup(model, { thumbnails: true, tuning: { thumbnails: 'inline' } });
    const a = path.join(dir, 'a.png');
    await writeImage(a, colour('green'));
    await readStage(run, await item(a));
    await decodeStage(run, (await run.toDecode.take())!);
    const [content] = run.inflight.values();
    expect(content.frame).toBeUndefined();
    await run.thumbnails.drain();
    // Written before its content was committed.
    expect(fs.existsSync(library.thumbnailPath(content.sha256))).toBe(true);
    expect(library.embeddedContentIds(run.key).size).toBe(0);
    library.close();
  });
});

describe('thumbnail queue', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  function library(): Library {
    const dir = tempDir('thumbq');
    dirs.push(dir);
    return Library.open(path.join(dir, 'lib.sqlite'));
  }

  async function frame(seed: number, width = 298, height = 224): Promise<RawPixels> {
    const data = await sharp({ create: { width, height, channels: 3, background: { r: seed * 40, g: 90, b: 200 - seed * 30 } } }).raw().toBuffer();
    return { data, width, height, channels: 3 };
  }

  const sha = (i: number) => i.toString(16).padStart(64, '0');
  const temps = (lib: Library) =>
    fs.existsSync(lib.thumbnailsDir) ? fs.readdirSync(lib.thumbnailsDir, { recursive: true }).map(String).filter((n) => n.endsWith('.tmp')) : [];

  it('holds thumbnails while there is no room, starts them all when there is, and drain makes the rest', async () => {
    const lib = library();
    let room = false;
    const q = new ThumbnailQueue(lib, { hasRoom: () => room });
    for (let i = 1; i <= 3; i++) q.add(sha(i), { kind: 'frame', frame: await frame(i) });
    expect(q.queued).toBe(3);
    await new Promise((r) => setTimeout(r, 30));
    expect(fs.existsSync(lib.thumbnailPath(sha(1)))).toBe(false);
    room = true;
    q.pump();
    expect(q.queued).toBe(0);
    room = false;
    q.add(sha(4), { kind: 'frame', frame: await frame(4) });
    expect(q.queued).toBe(1);
    await q.drain();
    expect(q.written).toBe(4);
    for (let i = 1; i <= 4; i++) {
      const meta = await sharp(lib.thumbnailPath(sha(i))).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', 256, 192]);
    }
    expect(temps(lib)).toEqual([]);
    lib.close();
  });

  it('past its memory bound it starts the oldest whatever the room', async () => {
    const lib = library();
    const one = (await frame(1)).data.length;
    const q = new ThumbnailQueue(lib, { hasRoom: () => false, maxHeldBytes: Math.floor(1.5 * one) });
    q.add(sha(1), { kind: 'frame', frame: await frame(1) });
    expect(q.queued).toBe(1);
    q.add(sha(2), { kind: 'frame', frame: await frame(2) });
    expect(q.queued).toBe(1);
    q.add(sha(3), { kind: 'frame', frame: await frame(3) });
    expect(q.queued).toBe(1);
    await q.drain();
    expect(q.written).toBe(3);
    lib.close();
  });

  it('a thumbnail that cannot be made is left out quietly; the others are written and no temporary file stays', async () => {
    const lib = library();
    const q = new ThumbnailQueue(lib, { hasRoom: () => true });
    q.add(sha(1), { kind: 'file', data: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(100, 3)]), path: '/x/bad.jpg' });
    q.add(sha(2), { kind: 'file', data: await sharp((await frame(2, 640, 480)).data, { raw: { width: 640, height: 480, channels: 3 } }).jpeg().toBuffer(), path: '/x/ok.jpg' });
    await q.drain();
    expect(fs.existsSync(lib.thumbnailPath(sha(1)))).toBe(false);
    expect((await sharp(lib.thumbnailPath(sha(2))).metadata()).width).toBe(256);
    expect(q.written).toBe(1);
    expect(temps(lib)).toEqual([]);
    lib.close();
  });
});
