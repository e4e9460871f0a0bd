// Indexing throughput, memory and re-sort speed on the random-weight ViT-B/32 stand-in (real
// architecture and sizes, so inference costs what the real model costs).
//
//   npm run bench -- index [--n 256] [--batch 16] [--repeats 3] [--large 32] [--resort 100000] [--skip-transformers]
//
// In one process it measures, per repeat and interleaved so a noisy neighbour hits both sides alike:
// the raw encoder (encodeImageTensors on ready tensors) and end-to-end `indexFolders` on real JPEGs
// (the dev set plus generated photo-like 1024×768 frames), then re-sorting a synthetic 100k-image
// library into 10 labels, then 12-MP camera-sized JPEGs through our indexer and through
// transformers.js (RawImage.read + AutoProcessor + CLIPVisionModelWithProjection on the same folder).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../src/engine/indexer/decode.js';
import { indexFolders, type IndexSummary } from '../src/engine/indexer/indexer.js';
import { readPhotoMetadata } from '../src/engine/images/metadata.js';
import { Library } from '../src/engine/library/library.js';
import { loadModel } from '../src/engine/models/model.js';
import { preprocessImage } from '../src/engine/models/preprocess.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { sortLibrary } from '../src/engine/sort/sort.js';
import { Prng } from '../test/support/synthetic/prng.js';
import { sharedDir, vitB32StandInDir } from '../test/support/models.js';
import { flag, median, round } from './_stats.js';

// ---------- images

/** Gradients, soft shapes and sensor-like noise: compresses like a camera photo, not like a flat test card. */
function photoLike(width: number, height: number, seed: number, grain = 25.6): Buffer {
  const grainScale = grain / 128;
  const prng = new Prng(seed);
  const px = Buffer.allocUnsafe(width * height * 3);
  const base = [prng.next() * 255, prng.next() * 255, prng.next() * 255];
  const tilt = [prng.next() - 0.5, prng.next() - 0.5, prng.next() - 0.5];
  const shapes = Array.from({ length: 14 }, () => ({
    x: prng.next() * width,
    y: prng.next() * height,
    r: (0.05 + prng.next() * 0.25) * Math.min(width, height),
    c: [prng.next() * 255, prng.next() * 255, prng.next() * 255],
    round: prng.next() < 0.5,
  }));
  const fx = (2 + prng.next() * 6) / width;
  const fy = (2 + prng.next() * 6) / height;
  let noise = seed >>> 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = base[0] + tilt[0] * 200 * (x / width) + 30 * Math.sin(x * fx * 6.28);
      let g = base[1] + tilt[1] * 200 * (y / height) + 30 * Math.sin(y * fy * 6.28);
      let b = base[2] + tilt[2] * 200 * ((x + y) / (width + height));
      for (const s of shapes) {
        const dx = Math.abs(x - s.x);
        const dy = Math.abs(y - s.y);
        if (s.round ? dx * dx + dy * dy < s.r * s.r : dx < s.r && dy < s.r * 0.6) {
          r = (r + s.c[0]) / 2;
          g = (g + s.c[1]) / 2;
          b = (b + s.c[2]) / 2;
        }
      }
      // Independent per-channel grain, like a sensor's luma and chroma noise.
      const i = (y * width + x) * 3;
      noise = (Math.imul(noise, 1664525) + 1013904223) >>> 0;
      px[i] = Math.max(0, Math.min(255, r + ((noise >>> 24) - 128) * grainScale));
      noise = (Math.imul(noise, 1664525) + 1013904223) >>> 0;
      px[i + 1] = Math.max(0, Math.min(255, g + ((noise >>> 24) - 128) * grainScale));
      noise = (Math.imul(noise, 1664525) + 1013904223) >>> 0;
      px[i + 2] = Math.max(0, Math.min(255, b + ((noise >>> 24) - 128) * grainScale));
    }
  }
  return px;
}

async function photoJpeg(width: number, height: number, seed: number, quality: number, grain?: number): Promise<Buffer> {
  return sharp(photoLike(width, height, seed, grain), { raw: { width, height, channels: 3 } })
    .jpeg({ quality, chromaSubsampling: '4:2:0' })
    .toBuffer();
}

/** The same JPEG with a comment segment after SOI: identical pixels, a different sha256. */
function withComment(jpeg: Buffer, text: string): Buffer {
  const body = Buffer.from(text, 'latin1');
  const seg = Buffer.alloc(4);
  seg[0] = 0xff;
  seg[1] = 0xfe;
  seg.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), seg, body, jpeg.subarray(2)]);
}

function devsetJpegs(): string[] {
  const root = path.join(sharedDir(), 'devset');
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (/\.jpe?g$/i.test(e.name)) out.push(full);
    }
  };
  walk(root);
  return out.sort();
}

/** `n` distinct JPEGs in `dir` (nested a little), cycling through `bases`. */
function writeCorpus(dir: string, bases: Buffer[], n: number): string[] {
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const file = path.join(dir, `folder${i % 8}`, `img${String(i).padStart(5, '0')}.jpg`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, i < bases.length ? bases[i] : withComment(bases[i % bases.length], `copy ${i}`));
    files.push(file);
  }
  return files;
}

// ---------- measurements

/** The model with the time spent inside the vision tower added up. */
function timed(model: ClipModel): { model: ClipModel; inferenceMs: () => number; reset: () => void } {
  let ms = 0;
  const wrapped: ClipModel = {
    get info() {
      return model.info;
    },
    tokenize: (t) => model.tokenize(t),
    preprocess: (s) => model.preprocess(s),
    encodeImageTensors: async (tensors) => {
      const t0 = performance.now();
      try {
        return await model.encodeImageTensors(tensors);
      } finally {
        ms += performance.now() - t0;
      }
    },
    encodeImages: (s) => model.encodeImages(s),
    encodeTexts: (t) => model.encodeTexts(t),
    scoreLabels: (i, t) => model.scoreLabels(i, t),
    warmup: () => model.warmup(),
    close: () => model.close(),
  };
  return { model: wrapped, inferenceMs: () => ms, reset: () => (ms = 0) };
}

async function rawEncoderRate(model: ClipModel, tensors: Float32Array[], batch: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < tensors.length; i += batch) await model.encodeImageTensors(tensors.slice(i, i + batch));
  return tensors.length / ((performance.now() - t0) / 1000);
}

interface IndexRun {
  rate: number;
  seconds: number;
  inferenceShare: number;
  summary: IndexSummary;
}

async function indexRun(model: ClipModel, folder: string, batch: number, work: string): Promise<IndexRun> {
  const libFile = path.join(work, `lib-${Date.now()}-${Math.random().toString(36).slice(2)}.sqlite`);
  const library = Library.open(libFile);
  const t = timed(model);
  try {
    const t0 = performance.now();
    const summary = await indexFolders({ library, model: t.model, folders: [folder], batchSize: batch });
    const seconds = (performance.now() - t0) / 1000;
    if (summary.failed.length) throw new Error(`bench images failed to index: ${JSON.stringify(summary.failed.slice(0, 3))}`);
    return { rate: summary.indexed / seconds, seconds, inferenceShare: t.inferenceMs() / 1000 / seconds, summary };
  } finally {
    library.close();
    fs.rmSync(libFile, { force: true });
    fs.rmSync(`${libFile}-wal`, { force: true });
    fs.rmSync(`${libFile}-shm`, { force: true });
    fs.rmSync(library.thumbnailsDir, { recursive: true, force: true });
  }
}

/** Per-image CPU cost of each indexing step outside inference, serially, on sample files. */
async function stepCosts(model: ClipModel, files: string[]): Promise<Record<string, number>> {
  const spec = model.info.image;
  const buffers = files.map((f) => fs.readFileSync(f));
  const time = async (fn: (b: Buffer, i: number) => unknown) => {
    const t0 = performance.now();
    for (let i = 0; i < buffers.length; i++) await fn(buffers[i], i);
    return round((performance.now() - t0) / buffers.length, 2);
  };
  return {
    read_ms: await time((_, i) => fs.promises.readFile(files[i])),
    sha256_ms: await time((b) => createHash('sha256').update(b).digest('hex')),
    exif_ms: await time((b) => readPhotoMetadata(b)),
    decode_for_model_ms: await time((b, i) => decodeImage(b, files[i], spec, false)),
    decode_with_thumbnail_ms: await time(async (b, i) => (await decodeImage(b, files[i], spec, true)).thumbnail),
    // The alternatives the indexer avoids: two clones of one input (each decodes the file again),
    // and one full-size decode that both outputs are then resized from.
    clone_model_and_thumbnail_ms: await time((b) => {
      const img = sharp(b).rotate();
      return Promise.all([
        img.clone().resize(spec.size, spec.size, { fit: 'cover', kernel: 'cubic' }).removeAlpha().raw().toBuffer(),
        img.clone().resize(256, 256, { fit: 'inside' }).webp({ quality: 75, effort: 0 }).toBuffer(),
      ]);
    }),
    full_decode_then_resize_ms: await time(async (b) => {
      const { data, info } = await sharp(b).rotate().raw().toBuffer({ resolveWithObject: true });
      const raw = { raw: { width: info.width, height: info.height, channels: info.channels } };
      return Promise.all([
        sharp(data, raw).resize(spec.size, spec.size, { fit: 'cover', kernel: 'cubic' }).raw().toBuffer(),
        sharp(data, raw).resize(256, 256, { fit: 'inside' }).webp({ quality: 75, effort: 0 }).toBuffer(),
      ]);
    }),
    full_decode_ms: await time((b) => sharp(b).rotate().raw().toBuffer()),
  };
}

// ---------- re-sort

const LABELS = ['weapon or military vehicle', 'document or text', 'meme', 'person portrait', 'vehicle', 'animal', 'food', 'nature or landscape', 'building', 'protest or crowd'];

function randomUnit(prng: Prng, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let s = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = prng.gaussian();
    s += v[i] * v[i];
  }
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < dim; i++) v[i] *= inv;
  return v;
}

async function resortBench(model: ClipModel, count: number, work: string, repeats: number): Promise<Record<string, number>> {
  const library = Library.open(path.join(work, 'resort.sqlite'));
  try {
    const key = library.modelKey(model.info);
    library.ensureModel(key, model.info.dim);
    const prng = new Prng(7);
    const insContent = library.db.prepare('INSERT INTO contents(id, sha256, size, format, width, height) VALUES (?, ?, 1000, ?, 1024, 768)');
    const insFile = library.db.prepare(
      "INSERT INTO files(path, folder, name, ext, size, mtime_ms, content_id, indexed_at, present) VALUES (?, ?, ?, 'jpg', 1000, 0, ?, 0, 1)",
    );
    const chunk = 5000;
    for (let start = 1; start <= count; start += chunk) {
      const rows: { contentId: number; vector: Float32Array }[] = [];
      library.db.transaction(() => {
        for (let id = start; id < Math.min(count + 1, start + chunk); id++) {
          insContent.run(id, id.toString(16).padStart(64, '0'), 'jpeg');
          const folder = `/photos/folder${id % 100}`;
          insFile.run(`${folder}/img${id}.jpg`, folder, `img${id}.jpg`, id);
          rows.push({ contentId: id, vector: randomUnit(prng, model.info.dim) });
        }
        library.putEmbeddings(key, rows);
      })();
    }
    await model.encodeTexts(['warm-up']);
    const loads: number[] = [];
    const sorts: number[] = [];
    for (let r = 0; r < repeats; r++) {
      let t0 = performance.now();
      const m = library.loadEmbeddings(key);
      loads.push((performance.now() - t0) / 1000);
      if (m.contentIds.length !== count) throw new Error(`loaded ${m.contentIds.length} embeddings, expected ${count}`);
      t0 = performance.now();
      const result = await sortLibrary({ library, model, labels: LABELS });
      sorts.push((performance.now() - t0) / 1000);
      if (result.results.length !== count) throw new Error(`sorted ${result.results.length} files, expected ${count}`);
    }
    const listStart = performance.now();
    library.listFiles({ present: true });
    const listSeconds = (performance.now() - listStart) / 1000;
    const textStart = performance.now();
    await model.encodeTexts(LABELS);
    const textSeconds = (performance.now() - textStart) / 1000;
    return {
      resort_s: round(median(sorts), 3),
      load_embeddings_s: round(median(loads), 3),
      list_files_s: round(listSeconds, 3),
      encode_10_label_texts_s: round(textSeconds, 3),
    };
  } finally {
    library.close();
  }
}

// ---------- transformers.js

/** transformers.js images/s on `files`, `batch` images per processor/model call (1 = one at a time). */
async function transformersJsRate(modelDir: string, files: string[], batch: number): Promise<number> {
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  tf.env.localModelPath = path.dirname(modelDir) + path.sep;
  const id = path.basename(modelDir);
  const processor = await tf.AutoProcessor.from_pretrained(id);
  const vision = await tf.CLIPVisionModelWithProjection.from_pretrained(id, { dtype: 'fp32', model_file_name: 'vision_model', device: 'cpu' });
  // Their pipeline decodes every frame in full; give libvips all cores per image as it has by default.
  const previous = sharp.concurrency();
  sharp.concurrency(0);
  try {
    const embed = async (paths: string[]) => {
      const images = await Promise.all(paths.map((f) => tf.RawImage.read(f)));
      const inputs = await processor(images);
      const out = await vision(inputs);
      return out.image_embeds as { dims: number[] };
    };
    await embed(files.slice(0, 1));
    const t0 = performance.now();
    for (let i = 0; i < files.length; i += batch) {
      const embeds = await embed(files.slice(i, i + batch));
      if (embeds.dims[0] !== Math.min(batch, files.length - i)) throw new Error(`transformers.js returned ${embeds.dims.join('x')}`);
    }
    return files.length / ((performance.now() - t0) / 1000);
  } finally {
    sharp.concurrency(previous);
    await vision.dispose();
  }
}

// ---------- the suite

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const n = flag(args, 'n', 256);
  const batch = flag(args, 'batch', 16);
  const repeats = flag(args, 'repeats', 3);
  const largeCount = flag(args, 'large', 32);
  // Peak amplitude of the per-pixel sensor grain on 12-MP photos (uniform ±grain levels); compressed size,
  // and so JPEG entropy-decoding cost, grows with it. 25.6 gives ~4.4 MB files, 8 gives phone-like ~3 MB.
  const largeGrain = flag(args, 'grain', 25.6);
  const resortCount = flag(args, 'resort', 100_000);
  const skipTransformers = args.includes('--skip-transformers');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-bench-index-'));
  const log = (msg: string) => process.stderr.write(`[bench index] ${msg}\n`);
  const result: Record<string, unknown> = { model: 'ViT-B/32 stand-in (random weights, real architecture), fp32, CPU', images: n, batch_size: batch, repeats };
  const detail: Record<string, unknown> = {};
  try {
    const modelDir = await vitB32StandInDir();
    const model = await loadModel(modelDir, { device: 'cpu', precision: 'fp32', batchSize: batch });
    await model.warmup();

    log('writing images');
    const generated = await Promise.all(Array.from({ length: 24 }, (_, i) => photoJpeg(1024, 768, 1000 + i, 85)));
    const bases = [...devsetJpegs().map((f) => fs.readFileSync(f)), ...generated];
    const corpus = path.join(work, 'corpus');
    const files = writeCorpus(corpus, bases, Math.max(n, batch));
    const rawTensors = await Promise.all(files.slice(0, 4 * batch).map((f) => preprocessImage(f, model.info.image)));
    await rawEncoderRate(model, rawTensors.slice(0, batch), batch);

    if (n > 0) {
      const raw: number[] = [];
      const e2e: IndexRun[] = [];
      const rssBefore = process.memoryUsage().rss;
      let rssMax = rssBefore;
      const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 100);
      for (let r = 0; r < repeats; r++) {
        raw.push(await rawEncoderRate(model, rawTensors, batch));
        e2e.push(await indexRun(model, corpus, batch, work));
        log(`repeat ${r + 1}: raw ${raw[r].toFixed(2)} img/s, index ${e2e[r].rate.toFixed(2)} img/s`);
      }
      clearInterval(sampler);
      const ratios = e2e.map((x, i) => x.rate / raw[i]);
      Object.assign(result, {
        index_images_per_s: round(median(e2e.map((x) => x.rate))),
        raw_encoder_images_per_s: round(median(raw)),
        ratio: round(median(ratios), 3),
        peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 0),
      });
      Object.assign(detail, {
        ratios: ratios.map((x) => round(x, 3)),
        index_runs_images_per_s: e2e.map((x) => round(x.rate)),
        raw_runs_images_per_s: raw.map((x) => round(x)),
        inference_share_of_wall: round(median(e2e.map((x) => x.inferenceShare)), 3),
        rss_before_index_mb: round(rssBefore / 2 ** 20, 0),
        rss_sampled_max_mb_during_index: round(rssMax / 2 ** 20, 0),
        per_image_ms: await stepCosts(model, files.slice(0, 32)),
      });
    }

    if (resortCount > 0) {
      log(`re-sort of ${resortCount} embeddings`);
      const resort = await resortBench(model, resortCount, work, repeats);
      result.resort_100k_s = resort.resort_s;
      Object.assign(detail, { resort, resort_images: resortCount });
    }

    if (largeCount > 0) {
      log('12-megapixel photos');
      const largeBases = await Promise.all(Array.from({ length: Math.min(10, largeCount) }, (_, i) => photoJpeg(4000, 3000, 5000 + i, 90, largeGrain)));
      const largeDir = path.join(work, 'large');
      const largeFiles = writeCorpus(largeDir, largeBases, largeCount);
      const largeRaw: number[] = [];
      const largeIndex: IndexRun[] = [];
      for (let r = 0; r < repeats; r++) {
        largeRaw.push(await rawEncoderRate(model, rawTensors, batch));
        largeIndex.push(await indexRun(model, largeDir, batch, work));
        log(`large repeat ${r + 1}: raw ${largeRaw[r].toFixed(2)} img/s, index ${largeIndex[r].rate.toFixed(2)} img/s`);
      }
      const largeSteps = await stepCosts(model, largeFiles.slice(0, 4));
      await model.close();
      const tfRates: number[] = [];
      let tfOneByOne: number | null = null;
      if (!skipTransformers) {
        for (let r = 0; r < Math.min(repeats, 2); r++) {
          tfRates.push(await transformersJsRate(modelDir, largeFiles, batch));
          log(`transformers.js ${tfRates[r].toFixed(2)} img/s`);
        }
        // How transformers.js is usually called in apps: one image per call.
        tfOneByOne = await transformersJsRate(modelDir, largeFiles.slice(0, 16), 1);
        log(`transformers.js one at a time ${tfOneByOne.toFixed(2)} img/s`);
      }
      const largeRate = median(largeIndex.map((x) => x.rate));
      const tfRate = tfRates.length ? median(tfRates) : null;
      result.large_photos = {
        images: largeCount,
        megapixels: 12,
        grain: largeGrain,
        mean_file_mb: round(largeBases.reduce((s, b) => s + b.length, 0) / largeBases.length / 2 ** 20, 2),
        index_images_per_s: round(largeRate),
        raw_encoder_images_per_s: round(median(largeRaw)),
        ratio_to_raw: round(median(largeIndex.map((x, i) => x.rate / largeRaw[i])), 3),
        transformersjs_images_per_s: tfRate === null ? null : round(tfRate),
        speedup_vs_transformersjs: tfRate === null ? null : round(largeRate / tfRate, 2),
        transformersjs_one_at_a_time_images_per_s: tfOneByOne === null ? null : round(tfOneByOne),
        inference_share_of_wall: round(median(largeIndex.map((x) => x.inferenceShare)), 3),
        per_image_ms: largeSteps,
      };
    } else {
      await model.close();
    }
    result.detail = detail;
    return result;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
