import type { IndexRun } from './state.js';
import type { IndexStore } from './store.js';
import type { Entry, LinkItem, PendingContent, PendingFailure } from './types.js';

/** Rows linked to existing embeddings are committed at least this often, even with nothing to encode. */
const LINK_FLUSH = 256;

function fileRow(e: Entry) {
  return { path: e.file.path, ext: e.file.ext, size: e.size, mtimeMs: e.mtimeMs, meta: e.meta };
}

function writeFailures(store: IndexStore, failures: readonly PendingFailure[], now: number): void {
  for (const f of failures) {
    store.recordFailure(f.path, f.error, f.size, f.mtimeMs, now);
    // A file whose new bytes failed no longer holds the content the library has for it.
    if (f.previousId !== undefined) store.markAbsent(f.previousId);
  }
}

/**
 * Encode and commit stage, one batch: the model embeds the batch's tensors, then the contents,
 * their embeddings, every file row (encoded, linked or duplicate) and the failures found so far are
 * written in one transaction, so an interrupted run loses at most the batch in flight. Only then do
 * the batch's thumbnails join the thumbnail queue.
 */
export async function encodeAndCommit(run: IndexRun, batch: PendingContent[], links: LinkItem[]): Promise<void> {
  if (batch.length === 0 && links.length === 0 && run.failures.length === 0) return;
  const { library, store, summary } = run;
  run.decodedWaiting -= batch.length;
  const vectors = batch.length ? await run.model.encodeImageTensors(batch.map((c) => c.tensor!)) : [];
  if (vectors.length !== batch.length) throw new Error(`model returned ${vectors.length} embeddings for ${batch.length} images`);
  const failures = run.failures.splice(0);
  const now = Date.now();
  let files = 0;
  let reused = links.length;
  store.transaction(() => {
    const rows: { contentId: number; vector: Float32Array }[] = [];
    for (const c of batch) {
      const contentId = store.upsertContent({ sha256: c.sha256, size: c.size, format: c.format, width: c.width, height: c.height });
      rows.push({ contentId, vector: vectors[rows.length] });
      for (const e of c.files) store.upsertFile(fileRow(e), contentId, now);
      // Stored too, so the window still marks the image as damaged after a restart.
      store.setContentWarning(contentId, c.warning ?? null, now);
      if (c.warning) for (const e of c.files) run.summary.warnings.push({ path: e.file.path, warning: c.warning });
      files += c.files.length;
      reused += c.files.length - 1;
    }
    library.putEmbeddings(run.key, rows);
    for (const l of links) store.upsertFile(fileRow(l.entry), l.contentId, now);
    writeFailures(store, failures, now);
    rows.forEach((r) => run.embedded.add(r.contentId));
  });
  // Same tick as the commit: a reader that hashes one of these contents next finds it embedded.
  for (const c of batch) {
    run.inflight.delete(c.sha256);
    c.tensor = undefined;
    if (c.frame) run.thumbnails.add(c.sha256, { kind: 'frame', frame: c.frame });
    c.frame = undefined;
  }
  run.tensorSlots.release(batch.length);
  files += links.length;
  summary.indexed += files;
  summary.reused += reused;
  run.progress.committed(files, links.at(-1)?.entry.file.path ?? batch.at(-1)?.files.at(-1)?.file.path);
}

/**
 * Batch stage: gathers decoded contents into batches of the model's batch size (and links into
 * groups of LINK_FLUSH) and commits each as it fills; the remainder is committed when the queue
 * ends, unless the job already failed.
 */
export async function batchStage(run: IndexRun): Promise<void> {
  const batch: PendingContent[] = [];
  const links: LinkItem[] = [];
  try {
    for (;;) {
      const item = await run.toCommit.take();
      if (!item) break;
      if (item.kind === 'encode') batch.push(item.content);
      else links.push(item);
      if (batch.length >= run.batchSize || links.length >= LINK_FLUSH) await encodeAndCommit(run, batch.splice(0), links.splice(0));
    }
    if (run.fatal === undefined) await encodeAndCommit(run, batch.splice(0), links.splice(0));
  } catch (err) {
    run.failHard(err);
  }
}

/** Failures found after the last batch committed (a cancelled run's stragglers), in their own transaction. */
export function commitRemainingFailures(run: IndexRun): void {
  if (run.failures.length === 0) return;
  const now = Date.now();
  run.store.transaction(() => writeFailures(run.store, run.failures.splice(0), now));
}
