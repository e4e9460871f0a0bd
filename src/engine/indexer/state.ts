import type { Library } from '../library/library.js';
import type { ClipModel } from '../models/types.js';
import { AsyncQueue, Slots } from './pipeline.js';
import { IndexProgressTracker } from './progress.js';
import type { IndexStore, KnownFile } from './store.js';
import { ThumbnailQueue } from './thumbnails.js';
import type { DecodeJob, IndexSummary, IndexTuning, PendingContent, PendingFailure, Ready } from './types.js';

export interface IndexRunSetup {
  library: Library;
  model: ClipModel;
  /** The model's key in the library (its embeddings table). */
  key: string;
  store: IndexStore;
  batchSize: number;
  thumbnails: boolean;
  progress: IndexProgressTracker;
  summary: IndexSummary;
  /** Content ids that already have an embedding for this model. */
  embedded: Set<number>;
  tuning?: IndexTuning;
}

/**
 * Everything the stages of one indexing run share, in one place: the counters, the contents in
 * flight, the queues and bounds between stages, and the stop flag. Stages are plain functions that
 * take this object; nothing else is shared between them.
 */
export class IndexRun {
  readonly library: Library;
  readonly model: ClipModel;
  readonly key: string;
  readonly store: IndexStore;
  readonly batchSize: number;
  readonly wantThumbnails: boolean;
  readonly progress: IndexProgressTracker;
  readonly summary: IndexSummary;
  /** Grows as batches commit, so a content committed a moment ago is linked, not encoded again. */
  readonly embedded: Set<number>;
  /** Distinct new contents between hashing and commit, by sha256: later copies join the first. */
  readonly inflight = new Map<string, PendingContent>();
  /** Failures not yet written; the next batch's transaction takes them. */
  readonly failures: PendingFailure[] = [];
  readonly thumbnails: ThumbnailQueue;
  readonly tuning: Required<IndexTuning>;

  /** Read stage → decoders: whole files to decode. */
  readonly toDecode = new AsyncQueue<DecodeJob>();
  /** Read and decode stages → batcher: links to commit and tensors to encode. */
  readonly toCommit = new AsyncQueue<Ready>();
  /** Decoded tensors alive at once (waiting, batched or being encoded). */
  readonly tensorSlots: Slots;
  /** Decoded tensors not yet handed to the model. */
  decodedWaiting = 0;
  /** Cleared once reading and decoding have finished. */
  producing = true;
  /** Whole files held in memory between reading and decoding. */
  readonly readAhead: Slots;

  /** Set by halt: nothing new is read or decoded. */
  stopped = false;
  /** The first error that ends the job (a model or database failure, never a bad file). */
  fatal: unknown;

  constructor(setup: IndexRunSetup) {
    this.library = setup.library;
    this.model = setup.model;
    this.key = setup.key;
    this.store = setup.store;
    this.batchSize = setup.batchSize;
    this.wantThumbnails = setup.thumbnails;
    this.progress = setup.progress;
    this.summary = setup.summary;
    this.embedded = setup.embedded;
    this.tuning = { thumbnails: setup.tuning?.thumbnails ?? 'deferred', hashOffThread: setup.tuning?.hashOffThread ?? true };
    this.thumbnails = new ThumbnailQueue(setup.library, { hasRoom: () => this.decodersAhead() });
    this.tensorSlots = new Slots(3 * setup.batchSize);
    this.readAhead = new Slots(2 * setup.batchSize);
  }

  /**
   * Whether the next batch is decoded already (or nothing more is coming), so pool work started now
   * delays no tensor inference is about to wait for.
   */
  decodersAhead(): boolean {
    return !this.producing || this.stopped || this.decodedWaiting >= this.batchSize;
  }

  /** A decoded content joins the batcher's queue. */
  decoded(content: PendingContent): void {
    this.decodedWaiting++;
    this.toCommit.push({ kind: 'encode', content });
    this.thumbnails.pump();
  }

  /** Production is over: what thumbnails wait may all start. */
  produced(): void {
    this.producing = false;
    this.toCommit.close();
    this.thumbnails.pump();
  }

  /** A file that is not an image we index. */
  skip(): void {
    this.summary.skipped++;
    this.progress.settled();
  }

  /** A file that cannot be indexed, with the reason the user will read; it is recorded with the next batch. */
  fail(filePath: string, error: string, seen?: { size: number; mtimeMs: number }, previous?: KnownFile): void {
    this.summary.failed.push({ path: filePath, error });
    this.failures.push({ path: filePath, error, size: seen?.size ?? null, mtimeMs: seen?.mtimeMs ?? null, previousId: previous?.id });
    this.progress.settled();
  }

  /** Stops taking work: nothing new is read or decoded, and queued items are dropped (a rerun redoes them). */
  readonly halt = (): void => {
    this.stopped = true;
    this.tensorSlots.open();
    this.readAhead.open();
    this.toCommit.stop();
    this.toDecode.stop();
  };

  /** Ends the job with `err` (the first one wins) after the stages wind down. */
  failHard(err: unknown): void {
    this.fatal ??= err;
    this.halt();
  }
}
