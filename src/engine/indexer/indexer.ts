import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';
import { classifyFile, isImageExtension, readErrorReason, SNIFF_BYTES, type ImageFormat } from '../images/formats.js';
import { readPhotoMetadata, type PhotoMetadata } from '../images/metadata.js';
import { cleanStaleThumbnailTemps, thumbnailExists, writeThumbnail } from '../images/thumbnail.js';
import type { Library } from '../library/library.js';
import type { ClipModel } from '../models/types.js';
import { decodeImage, decodeThumbnail } from './decode.js';
import { AsyncQueue, Slots } from './pipeline.js';
import { RateMeter } from './progress.js';
import { readHead, readWholeFile } from './read.js';
import { scanFolders, type ScannedFile } from './scan.js';
import { IndexStore, type KnownFile } from './store.js';

export interface IndexProgress {
  phase: 'scan' | 'index';
  done: number;
  total: number;
  failed: number;
  ratePerSec: number;
  etaSec: number | null;
  current?: string;
}

export interface IndexFailure {
  path: string;
  error: string;
}

export interface IndexSummary {
  /** Files whose row was written this run: newly encoded, or linked to content already embedded. */
  indexed: number;
  /** Files that are not images we index. */
  skipped: number;
  /** Files with the same size and mtime as last time (and an embedding for this model). */
  unchanged: number;
  /** Of `indexed`, files that needed no encoding: renamed, moved, or duplicates of other files. */
  reused: number;
  failed: IndexFailure[];
  /** Indexed, but the user should know: damaged images decoded leniently, links leading out of the folders (not followed). */
  warnings: { path: string; warning: string }[];
  durationMs: number;
  /** Files whose rows were marked `present = 0` because they are gone from the indexed folders. */
  missing?: number;
  /** Set when the signal stopped the run; what was committed stays, a rerun finishes the rest. */
  cancelled?: boolean;
}

export interface IndexOptions {
  library: Library;
  model: ClipModel;
  folders: string[];
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: IndexProgress) => void;
  /** Write a WebP thumbnail per content to `library.thumbnailPath(sha256)` (default true). */
  thumbnails?: boolean;
  /** Folders (or files) under the roots to leave out, e.g. a sort destination inside the source. */
  exclude?: string[];
}

/** Images past this size are almost certainly not photos, and would hold that much memory each. */
const MAX_FILE_BYTES = 1024 * 2 ** 20;
/** Rows linked to existing embeddings are committed at least this often, even with nothing to encode. */
const LINK_FLUSH = 256;
const PROGRESS_INTERVAL_MS = 200;

/** A file that read and hashed cleanly, waiting for its row to be committed. */
interface Entry {
  file: ScannedFile;
  previous: KnownFile | undefined;
  size: number;
  mtimeMs: number;
  meta: PhotoMetadata;
}

/** A distinct new content being decoded and encoded, with every path that holds it. */
interface PendingContent {
  sha256: string;
  size: number;
  format: ImageFormat;
  width: number;
  height: number;
  tensor: Float32Array | undefined;
  files: Entry[];
  warning?: string;
}

type Ready = { kind: 'encode'; content: PendingContent } | { kind: 'link'; entry: Entry; contentId: number };

interface DecodeJob {
  content: PendingContent;
  data: Buffer;
  wantThumbnail: boolean;
}

interface WorkItem {
  file: ScannedFile;
  previous: KnownFile | undefined;
}

interface PendingFailure {
  path: string;
  error: string;
  size: number | null;
  mtimeMs: number | null;
  previousId: number | undefined;
}

function reasonOf(err: unknown): string {
  if (err instanceof TriagemError && err.file && err.message.startsWith(`${err.file}: `)) return err.message.slice(err.file.length + 2);
  return errorMessage(err);
}

async function resolveRoots(folders: readonly string[]): Promise<string[]> {
  if (folders.length === 0) throw new TriagemError('no folder to index', 'usage');
  const roots: string[] = [];
  for (const folder of folders) {
    const abs = path.resolve(folder);
    try {
      await fs.stat(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new TriagemError(code === 'ENOENT' ? 'folder not found' : readErrorReason(err), 'not-found', abs);
    }
    if (!roots.includes(abs)) roots.push(abs);
  }
  return roots;
}

/**
 * Indexes every image under `folders` into the library, incrementally. Decoding (sharp, in libuv's
 * pool) runs ahead of batched inference through a bounded queue; each batch's rows and embeddings
 * are committed in one transaction once its embeddings exist, so an interrupted run loses at most
 * the batch in flight and a rerun resumes without duplicates. Per-file problems are reported in
 * the summary (and the library's `failures` table) and never stop the job.
 */
export async function indexFolders(opts: IndexOptions): Promise<IndexSummary> {
  const started = performance.now();
  const { library, model, signal } = opts;
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 16));
  const thumbnails = opts.thumbnails ?? true;
  const spec = model.info.image;
  const roots = await resolveRoots(opts.folders);
  const key = library.modelKey(model.info);
  library.ensureModel(key, model.info.dim);
  const store = new IndexStore(library);

  const summary: IndexSummary = { indexed: 0, skipped: 0, unchanged: 0, reused: 0, failed: [], warnings: [], durationMs: 0 };
  if (thumbnails) await cleanStaleThumbnailTemps(library.thumbnailsDir);
  let lastEmit = 0;
  const emit = (p: IndexProgress, force = false) => {
    if (!opts.onProgress) return;
    const now = performance.now();
    if (!force && now - lastEmit < PROGRESS_INTERVAL_MS) return;
    lastEmit = now;
    opts.onProgress(p);
  };

  // ---- scan and triage against what the library already has
  emit({ phase: 'scan', done: 0, total: 0, failed: 0, ratePerSec: 0, etaSec: null }, true);
  const excluded = (opts.exclude ?? []).map((p) => path.resolve(p));
  const libraryFiles = [library.file, `${library.file}-wal`, `${library.file}-shm`, `${library.file}-journal`, library.thumbnailsDir];
  const scan = await scanFolders(roots, {
    exclude: [...libraryFiles, ...excluded],
    signal,
    onProgress: (found) => emit({ phase: 'scan', done: found, total: 0, failed: 0, ratePerSec: 0, etaSec: null }),
  });
  summary.warnings.push(...scan.warnings);
  const embedded = library.embeddedContentIds(key);
  const known = store.knownFilesUnder(roots);
  const work: WorkItem[] = [];
  const seen = new Set<string>();
  const revive: number[] = [];
  for (const file of scan.files) {
    seen.add(file.path);
    const previous = known.get(file.path);
    if (previous && previous.size === file.size && previous.mtimeMs === file.mtimeMs && embedded.has(previous.contentId)) {
      summary.unchanged++;
      if (!previous.present) revive.push(previous.id);
      continue;
    }
    work.push({ file, previous });
  }
  const isExcluded = (p: string) => excluded.some((x) => p === x || p.startsWith(x.endsWith(path.sep) ? x : x + path.sep));
  const gone = [...known.values()].filter((k) => k.present && !seen.has(k.path) && !isExcluded(k.path)).map((k) => k.id);
  // A scan cut short by the signal has not seen everything, so it cannot say what disappeared.
  if (!signal?.aborted) {
    store.setPresent(gone, false);
    summary.missing = gone.length;
  }
  store.setPresent(revive, true);
  store.pruneFailures(roots, new Set(work.map((w) => w.file.path).concat(scan.failures.map((f) => f.path))));

  const total = scan.files.length;
  let done = summary.unchanged;
  const meter = new RateMeter();
  meter.record(done);
  let current: string | undefined;
  const progress = (force = false) =>
    emit(
      {
        phase: 'index',
        done,
        total,
        failed: summary.failed.length,
        ratePerSec: meter.rate(),
        etaSec: done >= total ? 0 : meter.eta(total - done),
        current,
      },
      force,
    );

  const pendingFailures: PendingFailure[] = [];
  const fail = (filePath: string, error: string, entry?: { size: number; mtimeMs: number }, previous?: KnownFile) => {
    summary.failed.push({ path: filePath, error });
    pendingFailures.push({ path: filePath, error, size: entry?.size ?? null, mtimeMs: entry?.mtimeMs ?? null, previousId: previous?.id });
    done++;
    progress();
  };
  for (const f of scan.failures) {
    summary.failed.push(f);
    pendingFailures.push({ path: f.path, error: f.error, size: null, mtimeMs: null, previousId: undefined });
  }
  progress(true);

  // ---- the pipeline
  const queue = new AsyncQueue<Ready>();
  const decodeQueue = new AsyncQueue<DecodeJob>();
  /** Decoded tensors alive at once (waiting, batched or being encoded). */
  const slots = new Slots(3 * batchSize);
  /** Whole files held in memory between reading and decoding. */
  const readAhead = new Slots(2 * batchSize);
  const inflight = new Map<string, PendingContent>();
  const thumbnailWrites = new Set<Promise<void>>();
  let stopped = false;
  let fatal: unknown;
  /** Stops taking work: nothing new is read or decoded, and queued items are dropped (a rerun redoes them). */
  const halt = () => {
    stopped = true;
    slots.open();
    readAhead.open();
    queue.stop();
    decodeQueue.stop();
  };
  const failHard = (err: unknown) => {
    fatal ??= err;
    halt();
  };
  signal?.addEventListener('abort', halt);
  if (signal?.aborted) halt();

  const saveThumbnail = (sha256: string, data: Promise<Buffer>) => {
    // A thumbnail is a cache: failing to write one (disk full, read-only library folder) must not
    // fail the image, and the UI can regenerate it later. The existence check happens here, off the
    // decode path, because every extra libuv round trip before a decode waits out a whole batch
    // of inference (ONNX Runtime holds the event loop while it runs).
    const file = library.thumbnailPath(sha256);
    const write = data
      .then(async (buf) => {
        if (!(await thumbnailExists(file))) await writeThumbnail(file, buf);
      })
      .catch(() => undefined)
      .finally(() => thumbnailWrites.delete(write));
    thumbnailWrites.add(write);
  };

  /**
   * Reader stage: read, sniff, hash and EXIF; then link the file to known content, attach it to the
   * same content already in flight, or hand the bytes to the decoders.
   */
  const prepare = async ({ file, previous }: WorkItem): Promise<void> => {
    const claimed = isImageExtension(file.ext);
    if (!claimed) {
      // Unknown extensions are sniffed from their first bytes, so an extensionless JPEG (chat
      // exports) is still found without reading every video in full.
      if (file.size === 0) return skip();
      let head: Buffer;
      try {
        head = await readHead(file.path, SNIFF_BYTES);
      } catch {
        return skip();
      }
      if (classifyFile(file.ext, head).kind !== 'image') return skip();
    }
    await readAhead.acquire();
    let handedOff = false;
    try {
      if (stopped) return;
      let bytes;
      try {
        bytes = await readWholeFile(file.path, file.size, file.mtimeMs, MAX_FILE_BYTES);
      } catch (err) {
        return fail(file.path, readErrorReason(err), undefined, previous);
      }
      const { data } = bytes;
      const verdict = classifyFile(file.ext, data.subarray(0, SNIFF_BYTES));
      if (verdict.kind === 'skip') return skip();
      if (verdict.kind === 'fail') return fail(file.path, verdict.reason, bytes, previous);
      const sha256 = createHash('sha256').update(data).digest('hex');
      const meta = await readPhotoMetadata(data);
      const entry: Entry = { file, previous, size: bytes.size, mtimeMs: bytes.mtimeMs, meta };

      // Decided synchronously, so two readers holding the same bytes cannot both start an encode,
      // and a content committed a moment ago is seen as embedded.
      const leader = inflight.get(sha256);
      if (leader) {
        leader.files.push(entry);
        return;
      }
      const existing = store.contentIdBySha(sha256);
      if (existing !== undefined && embedded.has(existing)) {
        queue.push({ kind: 'link', entry, contentId: existing });
        if (thumbnails && !(await thumbnailExists(library.thumbnailPath(sha256)))) saveThumbnail(sha256, decodeThumbnail(data, file.path));
        return;
      }
      const content: PendingContent = { sha256, size: data.length, format: verdict.format, width: 0, height: 0, tensor: undefined, files: [entry] };
      inflight.set(sha256, content);
      // Content the library has never seen has no thumbnail yet (bar a run killed after writing
      // one), so only known content pays for the existence check.
      const wantThumbnail = thumbnails && (existing === undefined || !(await thumbnailExists(library.thumbnailPath(sha256))));
      decodeQueue.push({ content, data, wantThumbnail });
      handedOff = true;
    } finally {
      if (!handedOff) readAhead.release();
    }
  };

  /** Decoder stage: one sharp decode per item, so every decoder has a decode queued in libuv's pool. */
  const decode = async ({ content, data, wantThumbnail }: DecodeJob): Promise<void> => {
    try {
      await slots.acquire();
      if (stopped) {
        inflight.delete(content.sha256);
        return;
      }
      const leaderPath = content.files[0].file.path;
      try {
        const decoded = await decodeImage(data, leaderPath, spec, wantThumbnail);
        if (decoded.thumbnail) saveThumbnail(content.sha256, decoded.thumbnail);
        content.tensor = decoded.tensor;
        content.width = decoded.width;
        content.height = decoded.height;
        content.warning = decoded.warning;
      } catch (err) {
        inflight.delete(content.sha256);
        slots.release();
        const reason = reasonOf(err);
        for (const e of content.files) fail(e.file.path, reason, e, e.previous);
        return;
      }
      queue.push({ kind: 'encode', content });
    } finally {
      readAhead.release();
    }
  };

  const skip = () => {
    summary.skipped++;
    done++;
    progress();
  };

  const flush = async (batch: PendingContent[], links: Extract<Ready, { kind: 'link' }>[]) => {
    if (batch.length === 0 && links.length === 0 && pendingFailures.length === 0) return;
    const vectors = batch.length ? await model.encodeImageTensors(batch.map((c) => c.tensor!)) : [];
    if (vectors.length !== batch.length) throw new Error(`model returned ${vectors.length} embeddings for ${batch.length} images`);
    const failures = pendingFailures.splice(0);
    const now = Date.now();
    let files = 0;
    let reused = links.length;
    library.db.transaction(() => {
      const rows: { contentId: number; vector: Float32Array }[] = [];
      for (const c of batch) {
        const contentId = store.upsertContent({ sha256: c.sha256, size: c.size, format: c.format, width: c.width, height: c.height });
        rows.push({ contentId, vector: vectors[rows.length] });
        for (const e of c.files) store.upsertFile({ path: e.file.path, ext: e.file.ext, size: e.size, mtimeMs: e.mtimeMs, meta: e.meta }, contentId, now);
        if (c.warning) for (const e of c.files) summary.warnings.push({ path: e.file.path, warning: c.warning });
        files += c.files.length;
        reused += c.files.length - 1;
      }
      library.putEmbeddings(key, rows);
      for (const l of links) {
        const e = l.entry;
        store.upsertFile({ path: e.file.path, ext: e.file.ext, size: e.size, mtimeMs: e.mtimeMs, meta: e.meta }, l.contentId, now);
      }
      for (const f of failures) {
        store.recordFailure(f.path, f.error, f.size, f.mtimeMs, now);
        if (f.previousId !== undefined) store.markAbsent(f.previousId);
      }
      rows.forEach((r) => embedded.add(r.contentId));
    })();
    // Same tick as the commit: a worker that hashes one of these contents next finds it embedded.
    for (const c of batch) {
      inflight.delete(c.sha256);
      c.tensor = undefined;
    }
    slots.release(batch.length);
    files += links.length;
    summary.indexed += files;
    summary.reused += reused;
    done += files;
    current = links.at(-1)?.entry.file.path ?? batch.at(-1)?.files.at(-1)?.file.path ?? current;
    meter.record(done);
    progress(true);
  };

  // While ONNX Runtime holds the event loop for a batch, every pending libuv job still runs, but
  // each worker advances by one job per batch. Readers need two jobs per file (open, read), so
  // there are twice as many readers as decoders, and decoders enough to fill a batch per round.
  const decoders = Math.min(32, Math.max(4, batchSize));
  const readers = 2 * decoders;
  const guard = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      failHard(err);
    }
  };
  let cursor = 0;
  const reader = async () => {
    while (!stopped && cursor < work.length) {
      const item = work[cursor++];
      await guard(() => prepare(item));
    }
  };
  const decoder = async () => {
    for (;;) {
      const job = await decodeQueue.take();
      if (!job) return;
      await guard(() => decode(job));
    }
  };
  const readersDone = Promise.all(Array.from({ length: Math.min(readers, work.length) }, reader)).then(() => decodeQueue.close());
  const producers = Promise.all([readersDone, ...Array.from({ length: decoders }, decoder)]).then(() => queue.close());

  const consumer = async () => {
    const batch: PendingContent[] = [];
    const links: Extract<Ready, { kind: 'link' }>[] = [];
    try {
      for (;;) {
        const item = await queue.take();
        if (!item) break;
        if (item.kind === 'encode') batch.push(item.content);
        else links.push(item);
        if (batch.length >= batchSize || links.length >= LINK_FLUSH) await flush(batch.splice(0), links.splice(0));
      }
      if (fatal === undefined) await flush(batch.splice(0), links.splice(0));
    } catch (err) {
      failHard(err);
    }
  };

  try {
    await Promise.all([producers, consumer()]);
    await Promise.all([...thumbnailWrites]);
  } finally {
    signal?.removeEventListener('abort', halt);
  }
  if (fatal !== undefined) throw fatal;
  if (pendingFailures.length) {
    // Failures found after the last batch committed (a cancelled run's stragglers).
    const now = Date.now();
    library.db.transaction(() => {
      for (const f of pendingFailures.splice(0)) {
        store.recordFailure(f.path, f.error, f.size, f.mtimeMs, now);
        if (f.previousId !== undefined) store.markAbsent(f.previousId);
      }
    })();
  }
  if (signal?.aborted) summary.cancelled = true;
  summary.durationMs = Math.round(performance.now() - started);
  progress(true);
  return summary;
}
