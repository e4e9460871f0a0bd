// Indexing throughput against bare inference, where the time per image goes, memory and re-sort
// speed, on the random-weight ViT-B/32 stand-in (real architecture and sizes, so inference costs what
// the real model costs) in both precisions the app can load: fp32 and the dynamically quantized q8
// graphs that `--precision auto` prefers.
//
//   npm run bench -- index [--n 256] [--batch 16] [--repeats 3] [--large 48] [--grain 25.6] [--resort 100000] [--skip-transformers]
//
// In one process, per repeat and with the precisions alternating so a noisy neighbour hits both alike:
// bare `session.run` on ready tensors ("bare": the inference ceiling) and end-to-end `indexFolders` —
// what `triagem index` runs — on real JPEGs (the dev set plus generated photo-like 1024×768 frames),
// then the same on 12-MP camera-sized JPEGs (also through transformers.js, fp32). The index rate is the
// steady rate between the first and the last batch commit (scan, pipeline fill and the thumbnail drain
// excluded, as a 20,000-image run amortises them); the whole-run rate is reported beside it.
//
// Beside each ratio: the CPU cost per image of every stage outside inference (read, hash, EXIF, decode,
// tensor build, thumbnail, SQLite commit; see _stage-costs.ts), the ceiling those costs leave for the
// ratio, and the machine's cores and SIMD flags.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { indexFolders, type IndexProgress, type IndexSummary } from '../src/engine/indexer/indexer.js';
import { Library } from '../src/engine/library/library.js';
import { loadModel } from '../src/engine/models/model.js';
import { preprocessImage } from '../src/engine/models/preprocess.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { sortLibrary } from '../src/engine/sort/sort.js';
import { Prng } from '../test/support/synthetic/prng.js';
import { sharedDir, vitB32StandInDir } from '../test/support/models.js';
import { bareRate, measure, openBareVision, readyBatches, settle, type BareRate, type BareVision } from './_bare-encoder.js';
import { contentionWarning, machineInfo } from './_machine.js';
import { ratioCeiling, stageProfile, type StageProfile } from './_stage-costs.js';
import { flag, median, round } from './_stats.js';

const PRECISIONS = ['fp32', 'quantized'] as const;
type Precision = (typeof PRECISIONS)[number];
/** Issue J's target for index ÷ bare inference, for each precision. */
const TARGET_RATIO = 0.85;

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
function timed(model: ClipModel): { model: ClipModel; inferenceMs: () => number } {
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
  return { model: wrapped, inferenceMs: () => ms };
}

interface IndexRun {
  /** Images/s between the first and the last batch commit. */
  steadyRate: number;
  /** Images/s over the whole indexFolders call (scan, fill and thumbnail drain included). */
  wholeRate: number;
  /** CPU time of the whole process per image over the whole call (all threads). */
  coreMsPerImage: number;
  inferenceShare: number;
  summary: IndexSummary;
}

async function indexRun(model: ClipModel, folder: string, batch: number, work: string): Promise<IndexRun> {
  const libFile = path.join(work, `lib-${Date.now()}-${Math.random().toString(36).slice(2)}.sqlite`);
  const library = Library.open(libFile);
  const t = timed(model);
  // (time, images committed) at each commit: progress is forced after every batch's transaction.
  const commits: [number, number][] = [];
  const onProgress = (p: IndexProgress) => {
    if (p.phase === 'index' && p.done > (commits.at(-1)?.[1] ?? 0)) commits.push([performance.now(), p.done]);
  };
  try {
    await settle();
    const { value: summary, wallMs, coreMs } = await measure(() => indexFolders({ library, model: t.model, folders: [folder], batchSize: batch, onProgress }));
    const seconds = wallMs / 1000;
    if (summary.failed.length) throw new Error(`bench images failed to index: ${JSON.stringify(summary.failed.slice(0, 3))}`);
    const wholeRate = summary.indexed / seconds;
    const [first, last] = [commits[0], commits.at(-1)];
    const steadyRate = first && last && last[0] > first[0] ? (last[1] - first[1]) / ((last[0] - first[0]) / 1000) : wholeRate;
    return { steadyRate, wholeRate, coreMsPerImage: coreMs / summary.indexed, inferenceShare: t.inferenceMs() / 1000 / seconds, summary };
  } finally {
    library.close();
    fs.rmSync(libFile, { force: true });
    fs.rmSync(`${libFile}-wal`, { force: true });
    fs.rmSync(`${libFile}-shm`, { force: true });
    fs.rmSync(library.thumbnailsDir, { recursive: true, force: true });
  }
}

interface Side {
  bare: BareRate[];
  index: IndexRun[];
}

function meanRate(a: BareRate, b: BareRate): BareRate {
  const wallMsPerImage = (a.wallMsPerImage + b.wallMsPerImage) / 2;
  return { imagesPerS: 1000 / wallMsPerImage, wallMsPerImage, coreMsPerImage: (a.coreMsPerImage + b.coreMsPerImage) / 2 };
}

/** Bare inference and indexing of `folder`, per repeat, for each precision (order alternating). */
async function compare(
  models: Record<Precision, ClipModel>,
  bare: Record<Precision, BareVision>,
  feeds: Parameters<typeof bareRate>[1],
  folder: string,
  batch: number,
  repeats: number,
  work: string,
  log: (msg: string) => void,
): Promise<Record<Precision, Side>> {
  const out: Record<Precision, Side> = { fp32: { bare: [], index: [] }, quantized: { bare: [], index: [] } };
  for (let r = 0; r < repeats; r++) {
    for (const p of r % 2 ? [...PRECISIONS].reverse() : PRECISIONS) {
      // Bare inference right before and right after the run it is compared with, so load that drifts
      // during the run (the machine is shared) moves both sides of the ratio alike.
      const before = await bareRate(bare[p], feeds);
      const i = await indexRun(models[p], folder, batch, work);
      const b = meanRate(before, await bareRate(bare[p], feeds));
      out[p].bare.push(b);
      out[p].index.push(i);
      log(`${p} repeat ${r + 1}: bare ${b.imagesPerS.toFixed(2)} img/s, index ${i.steadyRate.toFixed(2)} img/s steady (${i.wholeRate.toFixed(2)} whole run)`);
    }
  }
  return out;
}

interface Row {
  bare_session_run_images_per_s: number;
  index_images_per_s: number;
  /** index ÷ bare, median of the per-repeat ratios. */
  ratio: number;
  target: number;
  meets_target: boolean;
  /** What the measured stage costs allow for `ratio` (see ratioCeiling). */
  ratio_ceiling_from_stage_costs: number;
  /** The same with thumbnail making and writing moved off the hot path. */
  ratio_ceiling_without_thumbnails: number;
  index_whole_run_images_per_s: number;
  inference_share_of_index_wall: number;
  inference_wall_ms_per_image: number;
  inference_core_ms_per_image: number;
  /** Whole-process CPU per image while indexing: inference plus every other stage, all threads. */
  index_core_ms_per_image: number;
}

function summarise(side: Side, profile: StageProfile, cores: number): Row {
  const ratio = median(side.index.map((x, i) => x.steadyRate / side.bare[i].imagesPerS));
  const wall = median(side.bare.map((b) => b.wallMsPerImage));
  const core = median(side.bare.map((b) => b.coreMsPerImage));
  return {
    bare_session_run_images_per_s: round(median(side.bare.map((b) => b.imagesPerS))),
    index_images_per_s: round(median(side.index.map((x) => x.steadyRate))),
    ratio: round(ratio, 3),
    target: TARGET_RATIO,
    meets_target: ratio >= TARGET_RATIO,
    ratio_ceiling_from_stage_costs: round(ratioCeiling(core, profile, cores), 3),
    ratio_ceiling_without_thumbnails: round(ratioCeiling(core, profile, cores, ['thumbnail', 'thumbnail_write']), 3),
    index_whole_run_images_per_s: round(median(side.index.map((x) => x.wholeRate))),
    inference_share_of_index_wall: round(median(side.index.map((x) => x.inferenceShare)), 3),
    inference_wall_ms_per_image: round(wall, 2),
    inference_core_ms_per_image: round(core, 2),
    index_core_ms_per_image: round(median(side.index.map((x) => x.coreMsPerImage)), 2),
  };
}

/** One line per precision, like issue J's table: ratio (index vs bare), target, and the limit. */
function tableRows(label: string, rows: Record<Precision, Row>): Record<string, string> {
  return Object.fromEntries(
    PRECISIONS.map((p) => {
      const r = rows[p];
      return [
        `${label} ${p}`,
        `${r.ratio.toFixed(2)} (${r.index_images_per_s} vs ${r.bare_session_run_images_per_s} img/s bare) ${r.meets_target ? 'meets' : 'below'} ≥ ${TARGET_RATIO}; stage-cost ceiling ${r.ratio_ceiling_from_stage_costs.toFixed(2)} (${r.ratio_ceiling_without_thumbnails.toFixed(2)} without thumbnails)`,
      ];
    }),
  );
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
    const noMeta = { takenAt: null, gpsLat: null, gpsLon: null, camera: null };
    const chunk = 5000;
    for (let start = 1; start <= count; start += chunk) {
      const rows: { contentId: number; vector: Float32Array }[] = [];
      library.transaction(() => {
        for (let id = start; id < Math.min(count + 1, start + chunk); id++) {
          const contentId = library.upsertContent({ sha256: id.toString(16).padStart(64, '0'), size: 1000, format: 'jpeg', width: 1024, height: 768 });
          const folder = `/photos/folder${id % 100}`;
          library.upsertFile({ path: `${folder}/img${id}.jpg`, ext: 'jpg', size: 1000, mtimeMs: 0, meta: noMeta }, contentId, 0);
          rows.push({ contentId, vector: randomUnit(prng, model.info.dim) });
        }
        library.putEmbeddings(key, rows);
      });
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
  // Three batches or more, so the steady rate spans at least two commits.
  const largeCount = flag(args, 'large', 48);
  // Peak amplitude of the per-pixel sensor grain on 12-MP photos (uniform ±grain levels); compressed size,
  // and so JPEG entropy-decoding cost, grows with it. 25.6 gives ~4.4 MB files, 8 gives phone-like ~3 MB.
  const largeGrain = flag(args, 'grain', 25.6);
  const resortCount = flag(args, 'resort', 100_000);
  const skipTransformers = args.includes('--skip-transformers');
  const machine = machineInfo();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-bench-index-'));
  const log = (msg: string) => process.stderr.write(`[bench index] ${msg}\n`);
  const result: Record<string, unknown> = {
    model: 'ViT-B/32 stand-in (random weights, real architecture): fp32 and q8 (dynamic int8, as --precision auto loads), CPU',
    machine,
    images: n,
    batch_size: batch,
    repeats,
  };
  const rows: Record<string, string> = {};
  const detail: Record<string, unknown> = {};
  const models = {} as Record<Precision, ClipModel>;
  const bare = {} as Record<Precision, BareVision>;
  // Freed before transformers.js loads its own copy of the fp32 graph.
  const release = async () => {
    for (const p of PRECISIONS) {
      await bare[p]?.close();
      await models[p]?.close();
      delete bare[p];
      delete models[p];
    }
  };
  try {
    const modelDir = await vitB32StandInDir();
    models.fp32 = await loadModel(modelDir, { device: 'cpu', precision: 'fp32', batchSize: batch });
    models.quantized = await loadModel(modelDir, { device: 'cpu', precision: 'auto', batchSize: batch });
    if (models.quantized.info.precision !== 'quantized') throw new Error(`--precision auto picked ${models.quantized.info.precision}, not the quantized graphs`);
    for (const p of PRECISIONS) {
      await models[p].warmup();
      bare[p] = await openBareVision(models[p]);
    }
    result.files = { fp32: models.fp32.info.files.vision, quantized: models.quantized.info.files.vision };
    const info = models.fp32.info;

    log('writing images');
    const generated = await Promise.all(Array.from({ length: 24 }, (_, i) => photoJpeg(1024, 768, 1000 + i, 85)));
    const bases = [...devsetJpegs().map((f) => fs.readFileSync(f)), ...generated];
    const corpus = path.join(work, 'corpus');
    const files = writeCorpus(corpus, bases, Math.max(n, batch));
    const readyTensors = await Promise.all(files.slice(0, 4 * batch).map((f) => preprocessImage(f, info.image)));
    const feeds = readyBatches(readyTensors, batch, 4 * batch, info.image.size);
    for (const p of PRECISIONS) await bareRate(bare[p], feeds.slice(0, 1));

    if (n > 0) {
      const rssBefore = process.memoryUsage().rss;
      let rssMax = rssBefore;
      const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 100);
      const sides = await compare(models, bare, feeds, corpus, batch, repeats, work, log);
      clearInterval(sampler);
      log('stage costs, web-size photos');
      const profile = await stageProfile(files.slice(0, 32), info, work, batch);
      const web = {
        fp32: summarise(sides.fp32, profile, machine.cores),
        quantized: summarise(sides.quantized, profile, machine.cores),
      };
      result.web_photos = {
        ...web,
        int8_over_fp32: {
          bare: round(median(sides.quantized.bare.map((q, i) => q.imagesPerS / sides.fp32.bare[i].imagesPerS)), 2),
          index: round(median(sides.quantized.index.map((q, i) => q.steadyRate / sides.fp32.index[i].steadyRate)), 2),
        },
        stage_core_ms_per_image: profile.core_ms,
        main_thread_core_ms_per_image: profile.main_thread_core_ms,
        pool_core_ms_per_image: profile.pool_core_ms,
        thumbnail_from_file_core_ms_per_image: profile.thumbnail_from_file_core_ms,
        peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 0),
      };
      Object.assign(rows, tableRows('index, web-size photos:', web));
      detail.web_photos = {
        ratios: Object.fromEntries(PRECISIONS.map((p) => [p, sides[p].index.map((x, i) => round(x.steadyRate / sides[p].bare[i].imagesPerS, 3))])),
        index_runs_images_per_s: Object.fromEntries(PRECISIONS.map((p) => [p, sides[p].index.map((x) => round(x.steadyRate))])),
        bare_runs_images_per_s: Object.fromEntries(PRECISIONS.map((p) => [p, sides[p].bare.map((x) => round(x.imagesPerS))])),
        rss_before_index_mb: round(rssBefore / 2 ** 20, 0),
        rss_sampled_max_mb_during_index: round(rssMax / 2 ** 20, 0),
        stage_notes: profile.notes,
      };
    }

    if (resortCount > 0) {
      log(`re-sort of ${resortCount} embeddings`);
      const resort = await resortBench(models.fp32, resortCount, work, repeats);
      result.resort_100k_s = resort.resort_s;
      Object.assign(detail, { resort, resort_images: resortCount });
    }

    if (largeCount > 0) {
      log('12-megapixel photos');
      const largeBases = await Promise.all(Array.from({ length: Math.min(10, largeCount) }, (_, i) => photoJpeg(4000, 3000, 5000 + i, 90, largeGrain)));
      const largeDir = path.join(work, 'large');
      const largeFiles = writeCorpus(largeDir, largeBases, largeCount);
      const sides = await compare(models, bare, feeds, largeDir, batch, repeats, work, log);
      log('stage costs, 12-MP photos');
      const profile = await stageProfile(largeFiles.slice(0, 6), info, work, batch);
      const large = {
        fp32: summarise(sides.fp32, profile, machine.cores),
        quantized: summarise(sides.quantized, profile, machine.cores),
      };
      await release();
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
      const tfRate = tfRates.length ? median(tfRates) : null;
      result.large_photos = {
        images: largeCount,
        megapixels: 12,
        grain: largeGrain,
        mean_file_mb: round(largeBases.reduce((s, b) => s + b.length, 0) / largeBases.length / 2 ** 20, 2),
        ...large,
        stage_core_ms_per_image: profile.core_ms,
        main_thread_core_ms_per_image: profile.main_thread_core_ms,
        pool_core_ms_per_image: profile.pool_core_ms,
        thumbnail_from_file_core_ms_per_image: profile.thumbnail_from_file_core_ms,
        transformersjs_fp32_images_per_s: tfRate === null ? null : round(tfRate),
        fp32_speedup_vs_transformersjs: tfRate === null ? null : round(large.fp32.index_images_per_s / tfRate, 2),
        transformersjs_one_at_a_time_images_per_s: tfOneByOne === null ? null : round(tfOneByOne),
      };
      Object.assign(rows, tableRows('index, 12-MP photos:', large));
      detail.large_photos = {
        ratios: Object.fromEntries(PRECISIONS.map((p) => [p, sides[p].index.map((x, i) => round(x.steadyRate / sides[p].bare[i].imagesPerS, 3))])),
        stage_notes: profile.notes,
      };
    }
    const warning = contentionWarning(machine);
    if (warning) rows.warning = warning;
    result.rows = rows;
    result.detail = detail;
    return result;
  } finally {
    await release();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
