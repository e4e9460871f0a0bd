// Indexing throughput against bare inference, where the time per image goes, memory and re-sort
// speed, on the random-weight ViT-B/32 stand-in (real architecture and sizes, so inference costs what
// the real model costs) in both precisions the app can load: fp32 and the dynamically quantized q8
// graphs that `--precision auto` prefers.
//
//   npm run bench -- index [--n 256] [--batch 16] [--repeats 3] [--large 48] [--grain 25.6] [--resort 100000]
//                          [--arrangements app,old] [--thumbnails-inline] [--skip-transformers]
//
// In one process, per repeat, for each precision and each arrangement (ARRANGEMENTS: `app` is what
// `triagem index` runs, `old` the pipeline before issue J's item 2, the others change one thing; the
// order rotates every repeat so a noisy neighbour hits all alike): bare `session.run` on ready tensors
// ("bare": the inference ceiling, in a session with the arrangement's options) and end-to-end
// `indexFolders` — what `triagem index` runs — on real JPEGs (the dev set plus generated photo-like
// 1024×768 frames), then the same on 12-MP camera-sized JPEGs (also through transformers.js, fp32). The
// index rate is the steady rate between the first and the last batch commit (scan and pipeline fill
// excluded, as a 20,000-image run amortises them); beside it, the rate to the run's end (the thumbnails
// still being made after the last commit included), the whole-run rate and that drain's length.
//
// Beside each ratio: the CPU cost per image of every stage outside inference (read, hash, EXIF, decode,
// tensor build, thumbnail, SQLite commit; see _stage-costs.ts) and where it runs, the ceiling those
// costs leave for the ratio, the whole process's core-ms per indexed image beyond bare inference (which,
// unlike wall-clock rates, holds on a shared machine), and the machine's cores and SIMD flags.
// `readme_rows` are the README benchmark table's index lines, made from the `app` arrangement.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { indexFolders, type IndexProgress, type IndexSummary, type IndexTuning } from '../src/engine/indexer/indexer.js';
import { Library } from '../src/engine/library/library.js';
import { loadModel } from '../src/engine/models/model.js';
import { SESSION_CONFIG } from '../src/engine/models/runtime.js';
import { preprocessImage } from '../src/engine/models/preprocess.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { sortLibrary } from '../src/engine/sort/sort.js';
import { Prng } from '../test/support/synthetic/prng.js';
import { sharedDir, vitB32StandInDir } from '../test/support/models.js';
import { bareRate, measure, openBareVision, readyBatches, settle, type BareRate, type BareVision } from './_bare-encoder.js';
import { contentionWarning, machineInfo } from './_machine.js';
import { ratioCeiling, stageProfile, STAGES, type Stage, type StageProfile } from './_stage-costs.js';
import { flag, median, round } from './_stats.js';
import { THREAD_GROUPS, ThreadGroups, type ThreadGroup } from './_threads.js';

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
// ---------- arrangements

/**
 * Ways to run the same pipeline, measured side by side in one process (the machine is shared, so only
 * ratios inside one run compare). `app` is what `triagem index` runs; `old` is the pipeline before
 * issue J's item 2; the others change one thing of `app` to show what each change is worth.
 */
interface Arrangement {
  label: string;
  /** ONNX Runtime session config entries over the app's (SESSION_CONFIG), for the index run and its bare runs alike. */
  config: Readonly<Record<string, string>>;
  /** Intra-op threads below all cores. */
  fewerThreads?: number;
  tuning: IndexTuning;
}

const SPIN = 'session.intra_op.allow_spinning';
const STOP_SPIN = 'session.force_spinning_stop';
const DYNAMIC_BLOCKS = 'session.dynamic_block_base';
/** ONNX Runtime's own values of every entry the app or an arrangement sets: how sessions ran before. */
const ORT_DEFAULTS = { [SPIN]: '1', [STOP_SPIN]: '0', [DYNAMIC_BLOCKS]: '0' };

const ARRANGEMENTS: Record<string, Arrangement> = {
  app: { label: 'as the app runs', config: {}, tuning: {} },
  old: { label: 'before: thumbnails encoded at decode time, every hash on the JS thread, ONNX Runtime defaults', config: ORT_DEFAULTS, tuning: { thumbnails: 'inline', hashOffThread: false } },
  'thumbnails-inline': { label: 'app, but thumbnails encoded at decode time', config: {}, tuning: { thumbnails: 'inline' } },
  'hash-inline': { label: 'app, but every hash on the JS thread', config: {}, tuning: { hashOffThread: false } },
  'ort-defaults': { label: 'app, but ONNX Runtime session defaults', config: ORT_DEFAULTS, tuning: {} },
  spinning: { label: 'app, but intra-op threads spin-wait', config: { [SPIN]: '1' }, tuning: {} },
  'no-spinning': { label: 'app, but intra-op threads do not spin-wait', config: { [SPIN]: '0' }, tuning: {} },
  'spin-stop': { label: 'app, but spinning in a run and stopped when it returns', config: { [SPIN]: '1', [STOP_SPIN]: '1' }, tuning: {} },
  'dynamic-blocks': { label: 'app, but dynamic block sizing (base 4) in parallel loops', config: { [DYNAMIC_BLOCKS]: '4' }, tuning: {} },
  'threads-1': { label: 'app, but one intra-op thread fewer than cores', config: {}, fewerThreads: 1, tuning: {} },
};

/** `--arrangements a,b,…` (default app,old); `--thumbnails-inline` adds that one. */
function arrangementsFrom(args: string[]): string[] {
  const i = args.indexOf('--arrangements');
  const names = i >= 0 ? (args[i + 1] ?? '').split(',').filter(Boolean) : ['app', 'old'];
  if (args.includes('--thumbnails-inline') && !names.includes('thumbnails-inline')) names.push('thumbnails-inline');
  for (const n of names) if (!(n in ARRANGEMENTS)) throw new Error(`unknown arrangement ${n}; known: ${Object.keys(ARRANGEMENTS).join(', ')}`);
  if (names.length === 0) throw new Error('--arrangements needs at least one name');
  return names;
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
  /** Images/s between the first and the last batch commit: the marginal rate. */
  steadyRate: number;
  /** Images/s between the first commit and the run's end, the thumbnail drain included. */
  steadyToDoneRate: number;
  /** Images/s over the whole indexFolders call (scan, fill and thumbnail drain included). */
  wholeRate: number;
  /** From the last commit to the run's return: the thumbnails still being made. */
  drainMs: number;
  /** CPU time of the whole process per image over the whole call (all threads). */
  coreMsPerImage: number;
  inferenceShare: number;
  summary: IndexSummary;
}

async function indexRun(model: ClipModel, folder: string, batch: number, work: string, tuning: IndexTuning): Promise<IndexRun> {
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
    const started = performance.now();
    const { value: summary, wallMs, coreMs } = await measure(() => indexFolders({ library, model: t.model, folders: [folder], batchSize: batch, onProgress, tuning }));
    const ended = started + wallMs;
    const seconds = wallMs / 1000;
    if (summary.failed.length) throw new Error(`bench images failed to index: ${JSON.stringify(summary.failed.slice(0, 3))}`);
    const thumbs = fs.readdirSync(library.thumbnailsDir, { recursive: true }).filter((f) => String(f).endsWith('.webp')).length;
    if (thumbs !== summary.indexed - summary.reused) throw new Error(`${thumbs} thumbnails for ${summary.indexed - summary.reused} contents`);
    const wholeRate = summary.indexed / seconds;
    const [first, last] = [commits[0], commits.at(-1)];
    const spans = first && last && last[0] > first[0];
    const steadyRate = spans ? (last[1] - first[1]) / ((last[0] - first[0]) / 1000) : wholeRate;
    const steadyToDoneRate = spans ? (summary.indexed - first[1]) / ((ended - first[0]) / 1000) : wholeRate;
    return {
      steadyRate,
      steadyToDoneRate,
      wholeRate,
      drainMs: last ? ended - last[0] : 0,
      coreMsPerImage: coreMs / summary.indexed,
      inferenceShare: t.inferenceMs() / 1000 / seconds,
      summary,
    };
  } finally {
    library.close();
    fs.rmSync(libFile, { force: true });
    fs.rmSync(`${libFile}-wal`, { force: true });
    fs.rmSync(`${libFile}-shm`, { force: true });
    fs.rmSync(library.thumbnailsDir, { recursive: true, force: true });
  }
}

type ThreadCost = Record<ThreadGroup | 'exited_threads', number>;

interface Side {
  bare: BareRate[];
  index: IndexRun[];
  /** Core-ms per image by thread group (Linux), per repeat. */
  bareThreads: ThreadCost[];
  indexThreads: ThreadCost[];
}

function meanRate(a: BareRate, b: BareRate): BareRate {
  const wallMsPerImage = (a.wallMsPerImage + b.wallMsPerImage) / 2;
  return { imagesPerS: 1000 / wallMsPerImage, wallMsPerImage, coreMsPerImage: (a.coreMsPerImage + b.coreMsPerImage) / 2 };
}

/** Models and bare sessions per precision and session settings, loaded once. */
class Engines {
  private readonly models = new Map<string, ClipModel>();
  private readonly bares = new Map<string, BareVision>();

  constructor(
    private readonly dir: string,
    private readonly batch: number,
    private readonly cores: number,
  ) {}

  async get(p: Precision, a: Arrangement): Promise<{ model: ClipModel; bare: BareVision }> {
    const threads = a.fewerThreads ? Math.max(1, this.cores - a.fewerThreads) : undefined;
    const key = JSON.stringify([p, threads, Object.entries({ ...SESSION_CONFIG, ...a.config }).sort()]);
    let model = this.models.get(key);
    if (!model) {
      model = await loadModel(this.dir, { device: 'cpu', precision: p === 'fp32' ? 'fp32' : 'auto', batchSize: this.batch, threads, sessionConfig: a.config });
      if (p === 'quantized' && model.info.precision !== 'quantized') throw new Error(`--precision auto picked ${model.info.precision}, not the quantized graphs`);
      await model.warmup();
      this.models.set(key, model);
      this.bares.set(key, await openBareVision(model, threads, a.config));
    }
    return { model, bare: this.bares.get(key)! };
  }

  async close(): Promise<void> {
    for (const b of this.bares.values()) await b.close();
    for (const m of this.models.values()) await m.close();
    this.bares.clear();
    this.models.clear();
  }
}

type Sides = Record<string, Record<Precision, Side>>;

/**
 * Bare inference and indexing of `folder`, per repeat, for each precision and arrangement. The order
 * rotates every repeat, so a noisy neighbour or a warming cache favours none of them.
 */
async function compare(
  engines: Engines,
  threads: ThreadGroups | null,
  arrangements: readonly string[],
  feeds: Parameters<typeof bareRate>[1],
  folder: string,
  batch: number,
  repeats: number,
  work: string,
  log: (msg: string) => void,
): Promise<Sides> {
  const side = (): Side => ({ bare: [], index: [], bareThreads: [], indexThreads: [] });
  const out: Sides = Object.fromEntries(arrangements.map((a) => [a, { fp32: side(), quantized: side() }]));
  /** `fn`'s core-ms per item by thread group, the CPU of threads that ended meanwhile (libvips') apart. */
  const byThread = async <T>(items: (v: T) => number, coreMs: (v: T) => number, fn: () => Promise<T>): Promise<{ value: T; cost: ThreadCost | null }> => {
    const s0 = threads?.sample();
    const value = await fn();
    if (!threads || !s0) return { value, cost: null };
    const groups = threads.perItem(s0, threads.sample(), items(value));
    const seen = THREAD_GROUPS.reduce((t, g) => t + groups[g], 0);
    return { value, cost: { ...groups, exited_threads: Math.max(0, coreMs(value) - seen) } };
  };
  const runs = PRECISIONS.flatMap((p) => arrangements.map((a) => [p, a] as const));
  for (let r = 0; r < repeats; r++) {
    const k = r % runs.length;
    const order = r % 2 ? [...runs.slice(k), ...runs.slice(0, k)].reverse() : [...runs.slice(k), ...runs.slice(0, k)];
    for (const [p, a] of order) {
      const arr = ARRANGEMENTS[a];
      const { model, bare } = await engines.get(p, arr);
      // Bare inference right before and right after the run it is compared with, so load that drifts
      // during the run (the machine is shared) moves both sides of the ratio alike.
      const images = feeds.reduce((t, f) => t + f.dims[0], 0);
      const before = await byThread(() => images, (r) => r.coreMsPerImage, () => bareRate(bare, feeds));
      const run = await byThread((x) => x.summary.indexed, (x) => x.coreMsPerImage, () => indexRun(model, folder, batch, work, arr.tuning));
      const i = run.value;
      const b = meanRate(before.value, await bareRate(bare, feeds));
      out[a][p].bare.push(b);
      out[a][p].index.push(i);
      if (before.cost && run.cost) {
        out[a][p].bareThreads.push(before.cost);
        out[a][p].indexThreads.push(run.cost);
      }
      log(`${a} ${p} repeat ${r + 1}: bare ${b.imagesPerS.toFixed(2)} img/s, index ${i.steadyRate.toFixed(2)} img/s steady (${i.wholeRate.toFixed(2)} whole run, drain ${Math.round(i.drainMs)} ms)`);
    }
  }
  return out;
}

interface Row {
  bare_session_run_images_per_s: number;
  index_images_per_s: number;
  /** index ÷ bare, median of the per-repeat ratios (bare measured with the same session options). */
  ratio: number;
  target: number;
  meets_target: boolean;
  /** index ÷ the fastest bare of all arrangements in the same repeat: no session option flatters it. */
  ratio_vs_fastest_bare: number;
  /** Steady rate counted to the run's end (thumbnail drain included) ÷ bare. */
  ratio_to_done: number;
  /** What the measured stage costs allow for `ratio` (see ratioCeiling). */
  ratio_ceiling_from_stage_costs: number;
  /** The same with thumbnail making and writing off the hot path. */
  ratio_ceiling_without_thumbnails: number;
  index_whole_run_images_per_s: number;
  thumbnail_drain_after_last_commit_ms: number;
  inference_share_of_index_wall: number;
  inference_wall_ms_per_image: number;
  inference_core_ms_per_image: number;
  /** Whole-process CPU per image while indexing: inference plus every other stage, all threads. */
  index_core_ms_per_image: number;
  /** index core-ms − bare core-ms per image: what indexing costs beyond inference, robust to a busy machine. */
  beyond_inference_core_ms_per_image: number;
  /** bare core-ms ÷ index core-ms: the ratio the CPU time allows when the cores are kept busy. */
  core_ratio: number;
  /** Where the index run's core time went, per image, by thread (Linux; medians): see _threads.ts. */
  index_core_ms_per_image_by_thread: ThreadCost | null;
  bare_core_ms_per_image_by_thread: ThreadCost | null;
  /**
   * JS-thread core-ms per image while indexing beyond what bare inference costs it: work that cannot
   * overlap inference (onnxruntime-node runs a batch on that thread), so it adds to every batch. Only
   * roughly: ONNX Runtime shares each parallel loop between that thread and its own dynamically, so a
   * busy machine moves inference work between the two (see the next).
   */
  js_thread_beyond_inference_core_ms_per_image: number | null;
  /**
   * The same for the JS thread and ONNX Runtime's threads together: JS work plus what inference loses
   * to the decoders beside it (caches, preemption); the rest of `beyond_inference` ran in the pools.
   */
  inference_threads_beyond_bare_core_ms_per_image: number | null;
}

function medianCost(costs: readonly ThreadCost[]): ThreadCost | null {
  if (costs.length === 0) return null;
  const keys = Object.keys(costs[0]) as (keyof ThreadCost)[];
  return Object.fromEntries(keys.map((k) => [k, round(median(costs.map((c) => c[k])), 2)])) as ThreadCost;
}

function summarise(sides: Sides, a: string, p: Precision, profile: StageProfile, cores: number): Row {
  const side = sides[a][p];
  const fastest = side.bare.map((_, i) => Math.max(...Object.values(sides).map((s) => s[p].bare[i].imagesPerS)));
  const ratio = median(side.index.map((x, i) => x.steadyRate / side.bare[i].imagesPerS));
  const wall = median(side.bare.map((b) => b.wallMsPerImage));
  const core = median(side.bare.map((b) => b.coreMsPerImage));
  const indexCore = median(side.index.map((x) => x.coreMsPerImage));
  return {
    bare_session_run_images_per_s: round(median(side.bare.map((b) => b.imagesPerS))),
    index_images_per_s: round(median(side.index.map((x) => x.steadyRate))),
    ratio: round(ratio, 3),
    target: TARGET_RATIO,
    meets_target: ratio >= TARGET_RATIO,
    ratio_vs_fastest_bare: round(median(side.index.map((x, i) => x.steadyRate / fastest[i])), 3),
    ratio_to_done: round(median(side.index.map((x, i) => x.steadyToDoneRate / side.bare[i].imagesPerS)), 3),
    ratio_ceiling_from_stage_costs: round(ratioCeiling(core, profile, cores), 3),
    ratio_ceiling_without_thumbnails: round(ratioCeiling(core, profile, cores, ['thumbnail', 'thumbnail_write']), 3),
    index_whole_run_images_per_s: round(median(side.index.map((x) => x.wholeRate))),
    thumbnail_drain_after_last_commit_ms: round(median(side.index.map((x) => x.drainMs)), 0),
    inference_share_of_index_wall: round(median(side.index.map((x) => x.inferenceShare)), 3),
    inference_wall_ms_per_image: round(wall, 2),
    inference_core_ms_per_image: round(core, 2),
    index_core_ms_per_image: round(indexCore, 2),
    beyond_inference_core_ms_per_image: round(median(side.index.map((x, i) => x.coreMsPerImage - side.bare[i].coreMsPerImage)), 2),
    core_ratio: round(median(side.index.map((x, i) => side.bare[i].coreMsPerImage / x.coreMsPerImage)), 3),
    index_core_ms_per_image_by_thread: medianCost(side.indexThreads),
    bare_core_ms_per_image_by_thread: medianCost(side.bareThreads),
    js_thread_beyond_inference_core_ms_per_image: side.indexThreads.length
      ? round(median(side.indexThreads.map((t, i) => t.js - side.bareThreads[i].js)), 2)
      : null,
    inference_threads_beyond_bare_core_ms_per_image: side.indexThreads.length
      ? round(median(side.indexThreads.map((t, i) => t.js + t.onnxruntime - side.bareThreads[i].js - side.bareThreads[i].onnxruntime)), 2)
      : null,
  };
}

/** Per arrangement and precision, and each arrangement's index rate over the first one's, paired by repeat. */
function summariseAll(sides: Sides, arrangements: readonly string[], profile: StageProfile, cores: number) {
  const rows = Object.fromEntries(arrangements.map((a) => [a, Object.fromEntries(PRECISIONS.map((p) => [p, summarise(sides, a, p, profile, cores)])) as Record<Precision, Row>]));
  const [base] = arrangements;
  const versus = Object.fromEntries(
    arrangements.slice(1).map((a) => [
      `${base}_over_${a}`,
      Object.fromEntries(PRECISIONS.map((p) => [p, round(median(sides[base][p].index.map((x, i) => x.steadyRate / sides[a][p].index[i].steadyRate)), 3)])),
    ]),
  );
  return { rows, versus };
}

const STAGE_LABELS: Record<Stage, string> = {
  read: 'read',
  sha256: 'sha256',
  exif: 'EXIF',
  decode: 'decode',
  tensor: 'tensor',
  thumbnail: 'thumbnail',
  thumbnail_write: 'thumbnail write',
  sqlite_commit: 'SQLite',
};

/** One line per arrangement and precision, like issue J's table: ratio (index vs bare), target, and the limit. */
function tableRows(label: string, rows: Record<string, Record<Precision, Row>>, profile: StageProfile): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [a, byPrecision] of Object.entries(rows)) {
    for (const p of PRECISIONS) {
      const r = byPrecision[p];
      out[`${label} ${p}, ${a}`] =
        `${r.ratio.toFixed(2)} (${r.index_images_per_s} vs ${r.bare_session_run_images_per_s} img/s bare) ${r.meets_target ? 'meets' : 'below'} ≥ ${TARGET_RATIO}; ` +
        `${r.ratio_vs_fastest_bare.toFixed(2)} vs the fastest bare; ${r.beyond_inference_core_ms_per_image} core-ms/image beyond inference (core ratio ${r.core_ratio.toFixed(2)}` +
        `${r.js_thread_beyond_inference_core_ms_per_image === null ? '' : `, ${r.js_thread_beyond_inference_core_ms_per_image} of them on the JS thread`}); ` +
        `stage-cost ceiling ${r.ratio_ceiling_from_stage_costs.toFixed(2)} (${r.ratio_ceiling_without_thumbnails.toFixed(2)} without thumbnails)`;
    }
  }
  const where = (s: Stage) => (profile.main_thread_stages.includes(s) ? 'JS thread' : 'pool');
  out[`${label} stage core-ms/image`] = STAGES.map((s) => `${STAGE_LABELS[s]} ${profile.core_ms[s]} (${where(s)})`).join(', ');
  return out;
}

/** README benchmark-table lines (markdown) for the app's arrangement, beside the first other one measured. */
function readmeRows(label: string, rows: Record<string, Record<Precision, Row>>, profile: StageProfile): string[] {
  const app = rows.app;
  const other = Object.keys(rows).find((a) => a !== 'app');
  const lines: string[] = [];
  if (app) {
    for (const p of PRECISIONS) {
      const r = app[p];
      const was = other ? `; ${other}: ${rows[other][p].ratio.toFixed(2)}` : '';
      lines.push(`| index | ${label}, ${p === 'fp32' ? 'fp32' : 'q8 (--precision auto)'}, end to end vs bare session.run | ${r.index_images_per_s} vs ${r.bare_session_run_images_per_s} images/s (ratio ${r.ratio.toFixed(2)}${was}) |`);
    }
  }
  lines.push(`| index | ${label}, core-ms per image outside inference | ${STAGES.map((s) => `${STAGE_LABELS[s]} ${profile.core_ms[s]}`).join(', ')} |`);
  return lines;
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
  const arrangements = arrangementsFrom(args);
  const machine = machineInfo();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-bench-index-'));
  const log = (msg: string) => process.stderr.write(`[bench index] ${msg}\n`);
  const result: Record<string, unknown> = {
    model: 'ViT-B/32 stand-in (random weights, real architecture): fp32 and q8 (dynamic int8, as --precision auto loads), CPU',
    machine,
    images: n,
    batch_size: batch,
    repeats,
    session_config: SESSION_CONFIG,
    arrangements: Object.fromEntries(arrangements.map((a) => [a, ARRANGEMENTS[a]])),
  };
  const rows: Record<string, string> = {};
  const readme: string[] = [];
  const detail: Record<string, unknown> = {};
  // Before any model session exists, so every thread that appears later is known to be ONNX Runtime's.
  const threads = await ThreadGroups.discover();
  const modelDir = await vitB32StandInDir();
  const engines = new Engines(modelDir, batch, machine.cores);
  try {
    const { model: fp32 } = await engines.get('fp32', ARRANGEMENTS.app);
    const { model: quantized } = await engines.get('quantized', ARRANGEMENTS.app);
    result.files = { fp32: fp32.info.files.vision, quantized: quantized.info.files.vision };
    const info = fp32.info;

    log('writing images');
    const generated = await Promise.all(Array.from({ length: 24 }, (_, i) => photoJpeg(1024, 768, 1000 + i, 85)));
    const bases = [...devsetJpegs().map((f) => fs.readFileSync(f)), ...generated];
    const corpus = path.join(work, 'corpus');
    const files = writeCorpus(corpus, bases, Math.max(n, batch));
    const readyTensors = await Promise.all(files.slice(0, 4 * batch).map((f) => preprocessImage(f, info.image)));
    const feeds = readyBatches(readyTensors, batch, 4 * batch, info.image.size);
    for (const a of arrangements) for (const p of PRECISIONS) await bareRate((await engines.get(p, ARRANGEMENTS[a])).bare, feeds.slice(0, 1));

    if (n > 0) {
      const rssBefore = process.memoryUsage().rss;
      let rssMax = rssBefore;
      const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 100);
      const sides = await compare(engines, threads, arrangements, feeds, corpus, batch, repeats, work, log);
      clearInterval(sampler);
      log('stage costs, web-size photos');
      const profile = await stageProfile(files.slice(0, 32), info, work, batch);
      const { rows: web, versus } = summariseAll(sides, arrangements, profile, machine.cores);
      result.web_photos = {
        ...web,
        index_rate_paired: versus,
        int8_over_fp32: Object.fromEntries(
          arrangements.map((a) => [
            a,
            {
              bare: round(median(sides[a].quantized.bare.map((q, i) => q.imagesPerS / sides[a].fp32.bare[i].imagesPerS)), 2),
              index: round(median(sides[a].quantized.index.map((q, i) => q.steadyRate / sides[a].fp32.index[i].steadyRate)), 2),
            },
          ]),
        ),
        stage_core_ms_per_image: profile.core_ms,
        main_thread_core_ms_per_image: profile.main_thread_core_ms,
        pool_core_ms_per_image: profile.pool_core_ms,
        thumbnail_from_file_core_ms_per_image: profile.thumbnail_from_file_core_ms,
        peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 0),
      };
      Object.assign(rows, tableRows('index, web-size photos:', web, profile));
      readme.push(...readmeRows('web-size photos', web, profile));
      detail.web_photos = {
        ratios: perRepeat(sides, (x, b) => x.steadyRate / b.imagesPerS, 3),
        index_runs_images_per_s: perRepeat(sides, (x) => x.steadyRate, 2),
        bare_runs_images_per_s: perRepeat(sides, (_, b) => b.imagesPerS, 2),
        drain_ms: perRepeat(sides, (x) => x.drainMs, 0),
        rss_before_index_mb: round(rssBefore / 2 ** 20, 0),
        rss_sampled_max_mb_during_index: round(rssMax / 2 ** 20, 0),
        stage_notes: profile.notes,
      };
    }

    if (resortCount > 0) {
      log(`re-sort of ${resortCount} embeddings`);
      const resort = await resortBench(fp32, resortCount, work, repeats);
      result.resort_100k_s = resort.resort_s;
      Object.assign(detail, { resort, resort_images: resortCount });
    }

    if (largeCount > 0) {
      log('12-megapixel photos');
      const largeBases = await Promise.all(Array.from({ length: Math.min(10, largeCount) }, (_, i) => photoJpeg(4000, 3000, 5000 + i, 90, largeGrain)));
      const largeDir = path.join(work, 'large');
      const largeFiles = writeCorpus(largeDir, largeBases, largeCount);
      const sides = await compare(engines, threads, arrangements, feeds, largeDir, batch, repeats, work, log);
      log('stage costs, 12-MP photos');
      const profile = await stageProfile(largeFiles.slice(0, 6), info, work, batch);
      const { rows: large, versus } = summariseAll(sides, arrangements, profile, machine.cores);
      // Freed before transformers.js loads its own copy of the fp32 graph.
      await engines.close();
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
      const appFp32 = (large.app ?? large[arrangements[0]]).fp32;
      result.large_photos = {
        images: largeCount,
        megapixels: 12,
        grain: largeGrain,
        mean_file_mb: round(largeBases.reduce((s, b) => s + b.length, 0) / largeBases.length / 2 ** 20, 2),
        ...large,
        index_rate_paired: versus,
        stage_core_ms_per_image: profile.core_ms,
        main_thread_core_ms_per_image: profile.main_thread_core_ms,
        pool_core_ms_per_image: profile.pool_core_ms,
        thumbnail_from_file_core_ms_per_image: profile.thumbnail_from_file_core_ms,
        transformersjs_fp32_images_per_s: tfRate === null ? null : round(tfRate),
        fp32_speedup_vs_transformersjs: tfRate === null ? null : round(appFp32.index_images_per_s / tfRate, 2),
        transformersjs_one_at_a_time_images_per_s: tfOneByOne === null ? null : round(tfOneByOne),
      };
      Object.assign(rows, tableRows('index, 12-MP photos:', large, profile));
      readme.push(...readmeRows('12-MP JPEGs', large, profile));
      detail.large_photos = {
        ratios: perRepeat(sides, (x, b) => x.steadyRate / b.imagesPerS, 3),
        drain_ms: perRepeat(sides, (x) => x.drainMs, 0),
        stage_notes: profile.notes,
      };
    }
    const warning = contentionWarning(machine);
    if (warning) rows.warning = warning;
    result.rows = rows;
    result.readme_rows = readme;
    result.detail = detail;
    return result;
  } finally {
    await engines.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Every repeat's value, per arrangement and precision. */
function perRepeat(sides: Sides, f: (x: IndexRun, bare: BareRate) => number, digits: number) {
  return Object.fromEntries(
    Object.entries(sides).map(([a, s]) => [a, Object.fromEntries(PRECISIONS.map((p) => [p, s[p].index.map((x, i) => round(f(x, s[p].bare[i]), digits))]))]),
  );
}
