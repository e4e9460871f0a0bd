import { RateMeter } from '../util/rate.js';
import type { IndexFailure, IndexProgress } from './types.js';

/** Progress events are at most this frequent unless forced (phase changes, committed batches, the end). */
const PROGRESS_INTERVAL_MS = 200;
/** Long enough to smooth batch-by-batch jitter, short enough to follow a change of folder. */
const RATE_WINDOW_MS = 20_000;

/**
 * Counts files through the run and reports them, throttled, with a rate and ETA. The rate is
 * sampled only when batches commit, so it measures finished work, not files merely read.
 */
export class IndexProgressTracker {
  /** Files settled: unchanged, skipped, failed or committed. */
  done = 0;
  total = 0;
  /** The last file committed. */
  current: string | undefined;
  private readonly meter: RateMeter;
  private lastEmit = 0;

  constructor(
    private readonly onProgress: ((p: IndexProgress) => void) | undefined,
    private readonly failed: readonly IndexFailure[],
    now?: () => number,
  ) {
    this.meter = new RateMeter({ windowMs: RATE_WINDOW_MS, now });
  }

  /** Scan phase: files found so far. */
  scanning(found: number, force = false): void {
    this.emit({ phase: 'scan', done: found, total: 0, failed: 0, ratePerSec: 0, etaSec: null }, force);
  }

  /** Index phase begins with `done` files already settled by the plan. */
  start(total: number, done: number): void {
    this.total = total;
    this.done = done;
    this.meter.record(done);
    this.report(true);
  }

  /** One file settled without a commit (skipped or failed). */
  settled(): void {
    this.done++;
    this.report();
  }

  /** A batch committed `files` rows, the last of them `last`. */
  committed(files: number, last: string | undefined): void {
    this.done += files;
    this.current = last ?? this.current;
    this.meter.record(this.done);
    this.report(true);
  }

  report(force = false): void {
    if (!this.onProgress) return;
    const { done, total } = this;
    this.emit(
      {
        phase: 'index',
        done,
        total,
        failed: this.failed.length,
        ratePerSec: this.meter.rate(),
        etaSec: done >= total ? 0 : this.meter.eta(total - done),
        current: this.current,
      },
      force,
    );
  }

  private emit(p: IndexProgress, force: boolean): void {
    if (!this.onProgress) return;
    const now = performance.now();
    if (!force && now - this.lastEmit < PROGRESS_INTERVAL_MS) return;
    this.lastEmit = now;
    this.onProgress(p);
  }
}
