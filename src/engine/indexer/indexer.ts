import path from 'node:path';
import { batchStage, commitRemainingFailures } from './commit.js';
import { decodeStage } from './decode-stage.js';
import { serveQueue, workThrough } from './pipeline.js';
import { planIndex, resolveRoots } from './plan.js';
import { IndexProgressTracker } from './progress.js';
import { readStage } from './read-stage.js';
import { IndexRun } from './state.js';
import { IndexStore } from './store.js';
import { cleanStaleThumbnailTemps } from '../images/thumbnail.js';
import type { IndexOptions, IndexSummary, WorkItem } from './types.js';

export type { IndexFailure, IndexOptions, IndexProgress, IndexSummary, IndexTuning } from './types.js';

/**
 * Indexes every image under `folders` into the library, incrementally, in stages:
 *
 *   plan      scan the folders and compare with the library by path, size and mtime (plan.ts)
 *   read      read, sniff, sha256 and EXIF each changed file; link moved or duplicate content
 *             to its embedding, or hand the bytes on (read-stage.ts)
 *   decode    one sharp decode per new content makes the model input and the thumbnail's frame (decode-stage.ts)
 *   encode    batches of tensors through the model, each batch committed in one transaction (commit.ts)
 *   thumbnail each committed content's WebP, from that frame, while the decoders are ahead (thumbnails.ts);
 *             the run returns once the last one is written
 *
 * Decoding (sharp, in libuv's pool) runs ahead of batched inference through a bounded queue, so an
 * interrupted run loses at most the batch in flight and a rerun resumes without duplicates.
 * Per-file problems are reported in the summary (and the library's `failures` table) and never stop
 * the job.
 */
export async function indexFolders(opts: IndexOptions): Promise<IndexSummary> {
  const started = performance.now();
  const { library, model, signal } = opts;
  const roots = await resolveRoots(opts.folders);
  const key = library.modelKey(model.info);
  library.ensureModel(key, model.info.dim);
  const store = new IndexStore(library);
  const summary: IndexSummary = { indexed: 0, skipped: 0, unchanged: 0, reused: 0, failed: [], warnings: [], durationMs: 0 };
  // Temporary thumbnail files a killed run left behind.
  if (opts.thumbnails ?? true) await cleanStaleThumbnailTemps(library.thumbnailsDir);
  const progress = new IndexProgressTracker(opts.onProgress, summary.failed);

  progress.scanning(0, true);
  const plan = await planIndex({
    library,
    store,
    key,
    roots,
    // The library's own files (the SQLite file, its lock and side files) are never images to index.
    excluded: [...library.ownFiles(), ...(opts.exclude ?? []).map((p) => path.resolve(p))],
    signal,
    onScanProgress: (found) => progress.scanning(found),
  });
  summary.unchanged = plan.unchanged;
  summary.warnings.push(...plan.scanWarnings);
  if (plan.missing !== undefined) summary.missing = plan.missing;

  const run = new IndexRun({
    library,
    model,
    key,
    store,
    batchSize: Math.max(1, Math.floor(opts.batchSize ?? 16)),
    thumbnails: opts.thumbnails ?? true,
    progress,
    summary,
    embedded: plan.embedded,
    tuning: opts.tuning,
  });
  for (const f of plan.scanFailures) {
    summary.failed.push(f);
    run.failures.push({ path: f.path, error: f.error, size: null, mtimeMs: null, previousId: undefined });
  }
  progress.start(plan.total, plan.unchanged);

  signal?.addEventListener('abort', run.halt);
  if (signal?.aborted) run.halt();
  try {
    await runStages(run, plan.work);
  } finally {
    // Committed contents get their thumbnails even when the run stops early: what waits is bounded
    // (ThumbnailQueue's memory bound) and made from pixels already in memory.
    await run.thumbnails.drain();
    signal?.removeEventListener('abort', run.halt);
  }
  if (run.fatal !== undefined) throw run.fatal;
  commitRemainingFailures(run);
  if (signal?.aborted) summary.cancelled = true;
  summary.durationMs = Math.round(performance.now() - started);
  progress.report(true);
  return summary;
}

/**
 * Runs read → decode → encode/commit concurrently until the work is done or the run halts.
 *
 * While ONNX Runtime holds the event loop for a batch, every pending libuv job still runs, but each
 * worker advances by one job per batch. Readers need two jobs per file (open, read), so there are
 * twice as many readers as decoders, and decoders enough to fill a batch per round.
 */
async function runStages(run: IndexRun, work: readonly WorkItem[]): Promise<void> {
  const decoders = Math.min(32, Math.max(4, run.batchSize));
  const readers = 2 * decoders;
  const onError = (err: unknown) => run.failHard(err);
  const reading = workThrough(work, readers, (item) => readStage(run, item), { stopped: () => run.stopped, onError }).then(() => run.toDecode.close());
  const decoding = serveQueue(run.toDecode, decoders, (job) => decodeStage(run, job), onError);
  const producing = Promise.all([reading, decoding]).then(() => run.produced());
  await Promise.all([producing, batchStage(run)]);
}
