// CPU cost per image of each indexing stage outside inference, measured by calling the indexer's own
// stage functions serially on sample files (not by instrumenting indexFolders, which is being split
// into stages elsewhere) and reading process.cpuUsage, so work on libuv's and libvips' threads counts.
//
// Where a stage runs decides what it costs the pipeline: onnxruntime-node runs a batch synchronously on
// the main thread, so main-thread stages cannot overlap inference at all and add their full cost to
// every image; pool stages (libuv/libvips, and the hashing worker thread) overlap it but take cores
// from onnxruntime's threads.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { decodeImage } from '../src/engine/indexer/decode.js';
import { readWholeFile } from '../src/engine/indexer/read.js';
import { IndexStore } from '../src/engine/indexer/store.js';
import { OFF_THREAD_HASH_BYTES, sha256Bytes } from '../src/engine/util/hash.js';
import { readPhotoMetadata, EMPTY_METADATA } from '../src/engine/images/metadata.js';
import { openImage } from '../src/engine/images/open.js';
import { thumbnailFromImage, thumbnailFromPixels, writeThumbnail, type RawPixels } from '../src/engine/images/thumbnail.js';
import { Library } from '../src/engine/library/library.js';
import { modelPixelsFromSharp, pixelsToTensor } from '../src/engine/models/preprocess.js';
import type { ModelInfo } from '../src/engine/models/types.js';
import { Prng } from '../test/support/synthetic/prng.js';
import { measure, settle } from './_bare-encoder.js';
import { median, round } from './_stats.js';

export const STAGES = ['read', 'sha256', 'exif', 'decode', 'tensor', 'thumbnail', 'thumbnail_write', 'sqlite_commit'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * Stages whose work runs on the JS thread (EXIF parse, float tensor fill and SQLite are synchronous
 * there; so is sha256 of files under OFF_THREAD_HASH_BYTES).
 */
const MAIN_THREAD_STAGES: readonly Stage[] = ['exif', 'tensor', 'sqlite_commit'];

export interface StageProfile {
  /** core-ms per image, per stage (median of the repeats). */
  core_ms: Record<Stage, number>;
  /** Stages that ran on the JS thread for these files; the rest ran in libuv's pool, libvips' or the hashing thread. */
  main_thread_stages: Stage[];
  main_thread_core_ms: number;
  pool_core_ms: number;
  /** A thumbnail made apart from the model input (decoding the file again): its cost off the hot path. */
  thumbnail_from_file_core_ms: number;
  /** How some stages were obtained. */
  notes: Record<string, string>;
}

/** Median core-ms per item of `fn` over `items`, `repeats` times (after one untimed warm-up call). */
async function perItem<T>(items: readonly T[], repeats: number, fn: (item: T, i: number) => unknown): Promise<number> {
  await fn(items[0], 0);
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    await settle();
    const { coreMs } = await measure(async () => {
      for (let i = 0; i < items.length; i++) await fn(items[i], i);
    });
    samples.push(coreMs / items.length);
  }
  return median(samples);
}

function unitVector(prng: Prng, dim: number): Float32Array {
  const v = prng.normal(dim, 1);
  let s = 0;
  for (const x of v) s += x * x;
  const inv = 1 / Math.sqrt(s);
  return v.map((x) => x * inv);
}

/** The indexer's per-batch commit (content + file rows + embeddings in one transaction), per image. */
async function sqliteCommitCost(info: ModelInfo, work: string, batch: number, repeats: number): Promise<number> {
  const library = Library.open(path.join(work, `stage-commit-${process.pid}.sqlite`));
  try {
    const key = library.modelKey(info);
    library.ensureModel(key, info.dim);
    const store = new IndexStore(library);
    const prng = new Prng(17);
    const perBatch = Array.from({ length: 8 }, () => Array.from({ length: batch }, () => unitVector(prng, info.dim)));
    let next = 0;
    const commit = (vectors: Float32Array[]) => {
      const now = Date.now();
      library.transaction(() => {
        const rows = vectors.map((vector) => {
          const id = next++;
          const sha256 = createHash('sha256').update(String(id)).digest('hex');
          const contentId = store.upsertContent({ sha256, size: 250_000, format: 'jpeg', width: 1024, height: 768 });
          store.upsertFile({ path: `/photos/folder${id % 8}/img${id}.jpg`, ext: 'jpg', size: 250_000, mtimeMs: now, meta: EMPTY_METADATA }, contentId, now);
          return { contentId, vector };
        });
        library.putEmbeddings(key, rows);
      });
    };
    return (await perItem(perBatch, repeats, (vectors) => commit(vectors))) / batch;
  } finally {
    library.close();
  }
}

/**
 * The reduced frame (shortest edge = model size) decodeImage cuts both the model input and the
 * thumbnail from, made once here so the thumbnail encode can be timed on its own.
 */
async function modelFrame(data: Buffer, file: string, info: ModelInfo): Promise<RawPixels> {
  const size = info.image.size;
  const { data: pixels, info: raw } = await openImage(data, file)
    .flatten({ background: { r: 255, g: 255, b: 255 } })
    .toColourspace('srgb')
    .resize(size, size, { fit: 'outside', kernel: info.image.interpolation === 'bilinear' ? 'linear' : 'cubic' })
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data: pixels, width: raw.width, height: raw.height, channels: raw.channels as RawPixels['channels'] };
}

/**
 * Per-image core-ms of each stage on `files`, calling the indexer's stage functions: decode is
 * decodeImage (without thumbnail) minus the tensor build it includes; thumbnail is the WebP made from
 * the reduced frame, as the indexer makes it.
 */
export async function stageProfile(files: readonly string[], info: ModelInfo, work: string, batch: number, repeats = 3): Promise<StageProfile> {
  const spec = info.image;
  const stats = files.map((f) => fs.statSync(f));
  const buffers: Buffer[] = files.map((f) => fs.readFileSync(f));
  const thumbs = path.join(work, `stage-thumbs-${process.pid}`);
  const pixels = await Promise.all(buffers.map((b, i) => modelPixelsFromSharp(openImage(b, files[i]), spec)));
  const frames = await Promise.all(buffers.map((b, i) => modelFrame(b, files[i], info)));
  const thumbnailBytes = await Promise.all(frames.map((f) => thumbnailFromPixels(f)));
  const indices = files.map((_, i) => i);

  const read = await perItem(indices, repeats, (i) => readWholeFile(files[i], stats[i].size, Math.trunc(stats[i].mtimeMs), 1024 * 2 ** 20));
  // As the read stage hashes: large files on the worker thread (their buffers are lent and given back).
  const sha256 = await perItem(indices, repeats, async (i) => {
    buffers[i] = (await sha256Bytes(buffers[i])).data;
  });
  const hashOffThread = median(buffers.map((b) => b.length)) >= OFF_THREAD_HASH_BYTES;
  const mainStages: Stage[] = hashOffThread ? [...MAIN_THREAD_STAGES] : ['sha256', ...MAIN_THREAD_STAGES];
  const exif = await perItem(buffers, repeats, (b) => readPhotoMetadata(b));
  const tensor = await perItem(pixels, repeats, (p) => pixelsToTensor(p, spec));
  const decodeAndTensor = await perItem(indices, repeats, (i) => decodeImage(buffers[i], files[i], spec, false));
  const thumbnail = await perItem(frames, repeats, (f) => thumbnailFromPixels(f));
  const thumbnailFromFile = await perItem(indices, repeats, (i) => thumbnailFromImage(openImage(buffers[i], files[i])));
  const thumbnailWrite = await perItem(indices, repeats, (i) => writeThumbnail(path.join(thumbs, `${i}.webp`), thumbnailBytes[i]));
  fs.rmSync(thumbs, { recursive: true, force: true });
  const sqliteCommit = await sqliteCommitCost(info, work, batch, repeats);

  const core: Record<Stage, number> = {
    read,
    sha256,
    exif,
    decode: Math.max(0, decodeAndTensor - tensor),
    tensor,
    thumbnail,
    thumbnail_write: thumbnailWrite,
    sqlite_commit: sqliteCommit,
  };
  const sum = (stages: readonly Stage[]) => stages.reduce((s, k) => s + core[k], 0);
  return {
    core_ms: Object.fromEntries(STAGES.map((s) => [s, round(core[s], 2)])) as Record<Stage, number>,
    main_thread_stages: mainStages,
    main_thread_core_ms: round(sum(mainStages), 2),
    pool_core_ms: round(sum(STAGES.filter((s) => !mainStages.includes(s))), 2),
    thumbnail_from_file_core_ms: round(thumbnailFromFile, 2),
    notes: {
      measured_on: `${files.length} files, ${repeats} repeats, median`,
      sha256: hashOffThread ? `sha256Bytes on a worker thread (files ≥ ${OFF_THREAD_HASH_BYTES} bytes)` : 'sha256Bytes on the JS thread (files under the off-thread size)',
      decode: `decodeImage(no thumbnail) ${round(decodeAndTensor, 2)} core-ms − tensor build`,
      thumbnail: 'thumbnailFromPixels on the reduced frame decodeImage shares with the model input',
      sqlite_commit: `IndexStore rows + putEmbeddings in one transaction per batch of ${batch}`,
    },
  };
}

/**
 * The best index ÷ bare-inference ratio these stage costs allow, when inference keeps every core busy
 * while it runs. Main-thread work cannot overlap inference (onnxruntime-node runs a batch on the JS
 * thread); pool work can use the other cores while the JS thread does that work, and must take cores
 * from inference for the rest:
 *   ms/image ≥ inference + main + max(0, pool − (cores − 1) · main) / cores
 * Inference is taken as its core-ms spread over all cores, not its wall time, so a machine shared with
 * other processes (which stretches wall time, not CPU time) does not flatter the ceiling.
 * `without` drops stages, e.g. to see what moving thumbnails off the hot path would leave.
 */
export function ratioCeiling(inferenceCoreMs: number, profile: StageProfile, cores: number, without: readonly Stage[] = []): number {
  const sum = (stages: readonly Stage[]) => stages.filter((s) => !without.includes(s)).reduce((t, s) => t + profile.core_ms[s], 0);
  const inference = inferenceCoreMs / cores;
  const main = sum(profile.main_thread_stages);
  const poolLeft = Math.max(0, sum(STAGES.filter((s) => !profile.main_thread_stages.includes(s))) - (cores - 1) * main);
  return inference / (inference + main + poolLeft / cores);
}
